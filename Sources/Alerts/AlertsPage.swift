/// A small self-contained page (no CDN) listing the newest anomalies; it polls the API.
enum AlertsPage {
    static let html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Pipeline alerts</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1rem;color:#222}
        table{border-collapse:collapse;width:100%;font-size:.9rem}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
        th{background:#f4f4f4} .num{text-align:right;font-variant-numeric:tabular-nums}
        #status{color:#666;font-size:.85rem}
        </style></head><body>
        <h1>Newest anomalies</h1>
        <p id="status">loading…</p>
        <table><thead><tr><th>detected</th><th>device</th><th>seq</th><th>metric</th>
        <th class="num">value</th><th class="num">median</th><th class="num">score</th></tr></thead>
        <tbody id="rows"></tbody></table>
        <script>
        function cell(text, cls){const td=document.createElement('td');td.textContent=text;if(cls)td.className=cls;return td}
        async function refresh(){
          try{
            const r=await fetch('/v1/anomalies?limit=100');const body=await r.json();
            if(!r.ok)throw new Error(body.error||r.status);
            const rows=document.getElementById('rows');rows.replaceChildren();
            for(const a of body.items){const tr=document.createElement('tr');
              tr.append(cell(a.detected_at),cell(a.device_id),cell(a.seq,'num'),cell(a.metric),
                cell(a.value,'num'),cell(a.median,'num'),cell(a.score===null?'∞':a.score.toFixed(2),'num'));
              rows.append(tr)}
            document.getElementById('status').textContent='updated '+new Date().toLocaleTimeString()+', '+body.items.length+' shown';
          }catch(e){document.getElementById('status').textContent='error: '+e.message}
        }
        refresh();setInterval(refresh,2000);
        </script></body></html>
        """
}
