"use strict";
const POLL_MS = 3000;
const view = document.getElementById('view');
const statusLine = document.getElementById('status');
const forget = document.getElementById('forget-key');
forget.addEventListener('click', forgetKey);
let timer = null;
let generation = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c.nodeType ? c : String(c));
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}
function fmt(x, digits) {
  if (x === null || x === undefined) return '–';
  return Math.abs(x) >= 1000 ? x.toFixed(0) : Number(x.toFixed(digits === undefined ? 2 : digits)).toString();
}
function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const time = {hour: '2-digit', minute: '2-digit', second: '2-digit'};
  if (d.toDateString() === new Date().toDateString()) return d.toLocaleTimeString(undefined, time);
  return d.toLocaleString(undefined, Object.assign({month: 'short', day: 'numeric'}, time));
}
function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}
function deviceLink(id) { return el('a', {href: '#/devices/' + encodeURIComponent(id)}, id); }
// The device's plot around an incident's episode, marked.
function episodeLink(i) {
  const q = new URLSearchParams({metric: i.metric, from: i.opened_seq, to: i.last_seq});
  return el('a', {href: '#/devices/' + encodeURIComponent(i.device_id) + '?' + q, class: 'episode-link'}, i.device_id);
}
function setStatus(text, isError) { statusLine.textContent = text; statusLine.className = isError ? 'error' : ''; }

// The reader key lives in session storage only: gone when the browser session ends.
const KEY_ITEM = 'pipeline-reader-key';
function readerKey() { return sessionStorage.getItem(KEY_ITEM); }
function forgetKey() { sessionStorage.removeItem(KEY_ITEM); route(); }
// A link like /#key=… (the fragment never reaches the server) hands the page a key,
// optionally followed by a view: /#key=…&/devices/ward-3-bed-12. The key leaves the address bar at once.
function takeKeyFromFragment() {
  const m = location.hash.match(/^#key=([^&]*)(?:&(.*))?$/);
  if (!m) return;
  sessionStorage.setItem(KEY_ITEM, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search + '#' + (m[2] || '/'));
}
class Unauthorized extends Error {}

async function api(path) {
  const headers = {accept: 'application/json'};
  const key = readerKey();
  if (key) headers.authorization = 'Bearer ' + key;
  const r = await fetch(path, {headers, cache: 'no-store'});
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401) throw new Unauthorized((body && body.error) || 'a reader key is required');
  if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
  return body;
}

// ---- asked for when the API answers 401 ----
function keyView(reason) {
  generation++;
  clearTimeout(timer);
  const had = readerKey() !== null;
  if (had) sessionStorage.removeItem(KEY_ITEM);
  setStatus(had ? 'key refused' : 'reader key needed', true);
  forget.hidden = true;
  const input = el('input', {name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: '',
    placeholder: 'rk1_…', 'aria-label': 'reader key'});
  const form = el('form', {class: 'key', id: 'key-form', onsubmit: e => {
    e.preventDefault();
    const k = input.value.trim();
    if (k) { sessionStorage.setItem(KEY_ITEM, k); route(); }
  }},
    el('p', {id: 'key-message', class: had ? 'notice' : ''}, had
      ? 'The reader key was refused (' + reason + '): it may have been revoked. Enter another one.'
      : 'This page needs a reader key. Ask your operator for one (`pipeline reader issue NAME`).'),
    el('label', {}, 'reader key', input),
    el('button', {type: 'submit'}, 'Use key'),
    el('small', {}, 'The key is kept for this browser tab only, until you close it or choose “Forget key”.'));
  view.replaceChildren(el('h2', {}, 'Reader key'), form);
  input.focus();
}
function poll(fn) {
  clearTimeout(timer);
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    if (!document.hidden) {
      try { await fn(); setStatus('live · updated ' + new Date().toLocaleTimeString(), false); }
      catch (e) {
        if (e instanceof Unauthorized) { keyView(e.message); return; }
        setStatus('error: ' + e.message + ' (retrying)', true);
      }
    }
    if (mine === generation) timer = setTimeout(tick, POLL_MS);
  };
  tick();
}

// ---- #/ : newest anomalies, live, with filters ----
function anomaliesView(params) {
  const device = params.get('device_id') || '';
  const metric = params.get('metric') || '';
  const form = el('form', {class: 'filters', onsubmit: e => {
    e.preventDefault();
    const q = new URLSearchParams();
    const d = form.elements.device_id.value.trim(), m = form.elements.metric.value.trim();
    if (d) q.set('device_id', d);
    if (m) q.set('metric', m);
    location.hash = '#/' + (q.toString() ? '?' + q : '');
  }},
    el('label', {}, 'device', el('input', {name: 'device_id', value: device, placeholder: 'any', list: 'device-ids', size: 14})),
    el('label', {}, 'metric', el('input', {name: 'metric', value: metric, placeholder: 'any', list: 'metric-names', size: 12})),
    el('button', {type: 'submit'}, 'Filter'),
    el('button', {type: 'button', class: 'secondary', onclick: () => { location.hash = '#/'; }}, 'Clear'),
    el('datalist', {id: 'device-ids'}), el('datalist', {id: 'metric-names'},
      el('option', {value: 'heart_rate'}), el('option', {value: 'spo2'})));
  const tbody = el('tbody', {id: 'anomaly-rows'});
  const more = el('button', {type: 'button', class: 'secondary', hidden: ''}, 'Load older');
  const empty = el('p', {class: 'empty', hidden: ''}, 'No anomalies match.');
  const incidentRows = el('tbody', {id: 'incident-rows'});
  const noIncidents = el('p', {class: 'empty', hidden: ''}, 'No incidents match.');
  view.replaceChildren(el('h2', {}, 'Incidents'), form,
    el('div', {class: 'scroll'}, el('table', {id: 'incidents'},
      el('thead', {}, el('tr', {},
        el('th', {}, 'state'), el('th', {}, 'opened'), el('th', {}, 'device'), el('th', {}, 'metric'),
        el('th', {class: 'num'}, 'anomalies'), el('th', {class: 'num'}, 'peak'), el('th', {class: 'num wide'}, 'seqs'),
        el('th', {}, 'why it opened'))),
      incidentRows)), noIncidents,
    el('h2', {}, 'Newest anomalies'),
    el('div', {class: 'scroll'}, el('table', {id: 'anomalies'},
      el('thead', {}, el('tr', {},
        el('th', {}, 'detected'), el('th', {}, 'device'), el('th', {class: 'num wide'}, 'seq'), el('th', {}, 'metric'),
        el('th', {class: 'num'}, 'value'), el('th', {class: 'num wide'}, 'median'), el('th', {class: 'num'}, 'score'),
        el('th', {class: 'wide'}, 'reading time'))),
      tbody)), empty, more);
  const filter = new URLSearchParams();
  if (device) filter.set('device_id', device);
  if (metric) filter.set('metric', metric);
  const shown = new Map();
  let cursor = null, firstLoad = true;
  const key = a => a.device_id + '/' + a.seq + '/' + a.metric;
  const row = (a, isNew) => el('tr', {class: isNew ? 'new' : '', 'data-key': key(a)},
    el('td', {title: a.detected_at}, when(a.detected_at)), el('td', {}, deviceLink(a.device_id)),
    el('td', {class: 'num wide'}, a.seq), el('td', {}, a.metric), el('td', {class: 'num'}, fmt(a.value)),
    el('td', {class: 'num wide'}, fmt(a.median)), el('td', {class: 'num'}, a.score === null ? '∞' : fmt(a.score)),
    el('td', {class: 'wide', title: a.ts}, when(a.ts)));
  async function loadOlder() {
    const q = new URLSearchParams(filter); q.set('limit', '100'); q.set('cursor', cursor);
    const page = await api('/v1/anomalies?' + q);
    for (const a of page.items) if (!shown.has(key(a))) { shown.set(key(a), a); tbody.append(row(a, false)); }
    cursor = page.next_cursor; more.hidden = !cursor;
  }
  more.addEventListener('click', () => loadOlder().catch(e => setStatus('error: ' + e.message, true)));
  api('/v1/devices?limit=1000').then(p => {
    const list = document.getElementById('device-ids');
    if (list) for (const d of p.items) list.append(el('option', {value: d.device_id}));
  }).catch(() => {});
  const incidentRow = i => el('tr', {'data-incident': i.id},
    el('td', {class: 'state ' + i.state}, i.state), el('td', {title: i.opened_at}, when(i.opened_at)),
    el('td', {}, episodeLink(i)), el('td', {}, i.metric), el('td', {class: 'num'}, i.anomalies),
    el('td', {class: 'num'}, fmt(i.peak_value)), el('td', {class: 'num wide'}, i.opened_seq + '–' + i.last_seq),
    el('td', {class: 'reason'}, i.reason));
  poll(async () => {
    // Open incidents on top (all of them, up to 1,000), then the newest closed ones.
    const o = new URLSearchParams(filter); o.set('limit', '1000'); o.set('state', 'open');
    const c = new URLSearchParams(filter); c.set('limit', '50'); c.set('state', 'closed');
    const q = new URLSearchParams(filter); q.set('limit', '100');
    const [open, closed, page] = await Promise.all(
      [api('/v1/incidents?' + o), api('/v1/incidents?' + c), api('/v1/anomalies?' + q)]);
    const incidents = open.items.concat(closed.items);
    incidentRows.replaceChildren(...incidents.map(incidentRow));
    noIncidents.hidden = incidents.length > 0;
    // Newest first: new items go on top, the rest stay where they are.
    const fresh = page.items.filter(a => !shown.has(key(a)));
    for (const a of fresh.reverse()) { shown.set(key(a), a); tbody.prepend(row(a, !firstLoad)); }
    if (firstLoad) { cursor = page.next_cursor; more.hidden = !cursor; firstLoad = false; }
    empty.hidden = shown.size > 0;
  });
}

// ---- #/devices : every device with counts ----
function devicesView() {
  const tbody = el('tbody', {id: 'device-rows'});
  view.replaceChildren(el('h2', {}, 'Devices'), el('div', {class: 'scroll'}, el('table', {id: 'devices'},
    el('thead', {}, el('tr', {}, el('th', {}, 'device'), el('th', {class: 'num'}, 'open incidents'),
      el('th', {class: 'num wide'}, 'incidents'), el('th', {class: 'num'}, 'anomalies'),
      el('th', {class: 'num wide'}, 'readings'), el('th', {}, 'last seen'), el('th', {class: 'num wide'}, 'last seq'))),
    tbody)));
  poll(async () => {
    const all = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({limit: '1000'}); if (cursor) q.set('cursor', cursor);
      const page = await api('/v1/devices?' + q);
      all.push(...page.items); cursor = page.next_cursor;
    } while (cursor && all.length < 20000);
    all.sort((a, b) => b.open_incidents - a.open_incidents || b.anomalies - a.anomalies || a.device_id.localeCompare(b.device_id));
    tbody.replaceChildren(...all.map(d => {
      const silent = d.last_seen && Date.now() - new Date(d.last_seen).getTime() > 60000;
      return el('tr', {}, el('td', {}, deviceLink(d.device_id)),
        el('td', {class: 'num' + (d.open_incidents ? ' stale' : '')}, d.open_incidents),
        el('td', {class: 'num wide'}, d.incidents), el('td', {class: 'num'}, d.anomalies),
        el('td', {class: 'num wide'}, d.readings),
        el('td', {class: silent ? 'stale' : '', title: d.last_seen || ''}, when(d.last_seen) + ' (' + ago(d.last_seen) + ')'),
        el('td', {class: 'num wide'}, d.last_seq === null ? '–' : d.last_seq));
    }));
  });
}

// ---- #/devices/{id} : last readings per metric, band and anomalies ----
function chart(metric, points, anomalies, episode) {
  const W = 640, H = 240, L = 48, R = 10, T = 10, B = 26;
  const xs = points.map(p => p.seq);
  const ys = [];
  for (const p of points) { ys.push(p.value); if (p.band) ys.push(p.band.low, p.band.high); }
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const sx = s => L + (x1 === x0 ? (W - L - R) / 2 : (s - x0) / (x1 - x0) * (W - L - R));
  const sy = v => T + (hi - v) / (hi - lo) * (H - T - B);
  const root = svg('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${metric}: last ${points.length} readings`, 'data-metric': metric,
    'data-points': points.length, 'data-anomalies': anomalies.length});
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4, y = sy(v);
    root.append(svg('line', {class: 'grid', x1: L, x2: W - R, y1: y, y2: y}));
    const t = svg('text', {class: 'axis', x: L - 4, y: y + 4, 'text-anchor': 'end'}); t.textContent = fmt(v, 1); root.append(t);
  }
  for (const s of [x0, x1]) {
    const t = svg('text', {class: 'axis', x: sx(s), y: H - 8, 'text-anchor': s === x0 ? 'start' : 'end'});
    t.textContent = 'seq ' + s; root.append(t);
  }
  // The band each value was judged against, as one shaded polygon per run of points that have one.
  const runs = [];
  let run = [];
  for (const p of points) { if (p.band) run.push(p); else if (run.length) { runs.push(run); run = []; } }
  if (run.length) runs.push(run);
  for (const r of runs) {
    const upper = r.map(p => `${sx(p.seq)},${sy(Math.min(p.band.high, hi))}`);
    const lower = r.slice().reverse().map(p => `${sx(p.seq)},${sy(Math.max(p.band.low, lo))}`);
    root.append(svg('polygon', {class: 'band', points: upper.concat(lower).join(' ')}));
    root.append(svg('polyline', {class: 'median', points: r.map(p => `${sx(p.seq)},${sy(p.band.median)}`).join(' ')}));
  }
  // The incident's episode over the band, under the values.
  if (episode && points.length) {
    const a = Math.max(episode.from, x0), b = Math.min(episode.to, x1);
    if (a <= b) root.append(svg('rect', {class: 'episode', x: sx(a) - 2, y: T, width: Math.max(4, sx(b) - sx(a) + 4),
      height: H - T - B, 'data-from': episode.from, 'data-to': episode.to}));
  }
  root.append(svg('polyline', {class: 'values', points: points.map(p => `${sx(p.seq)},${sy(p.value)}`).join(' ')}));
  for (const a of anomalies) {
    const c = svg('circle', {class: 'anomaly', cx: sx(a.seq), cy: sy(a.value), r: 4.5, 'data-seq': a.seq});
    const title = svg('title', {});
    title.textContent = `seq ${a.seq}: ${fmt(a.value)} (median ${fmt(a.median)}, score ${a.score === null ? '∞' : fmt(a.score)})`;
    c.append(title); root.append(c);
  }
  return root;
}

function deviceView(id, params) {
  const from = Number(params.get('from')), to = Number(params.get('to'));
  const episode = params.get('metric') && Number.isSafeInteger(from) && Number.isSafeInteger(to) && from <= to
    ? {metric: params.get('metric'), from, to} : null;
  const summary = el('p', {id: 'device-summary', class: 'legend'}, 'loading…');
  const charts = el('div', {class: 'charts', id: 'charts'});
  const list = el('tbody', {id: 'device-anomaly-rows'});
  view.replaceChildren(el('h2', {}, 'Device ', el('code', {}, id)), summary,
    el('p', {class: 'legend'}, el('span', {class: 'band-swatch'}), 'band: values inside pass the rule',
      el('span', {class: 'median-swatch'}), 'median of the window',
      el('span', {class: 'anomaly-swatch'}), 'anomaly',
      episode ? el('span', {class: 'episode-swatch'}) : null, episode ? 'the incident\u2019s episode' : null),
    charts, el('h3', {}, 'Anomalies'), el('div', {class: 'scroll'}, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'detected'), el('th', {class: 'num'}, 'seq'), el('th', {}, 'metric'),
        el('th', {class: 'num'}, 'value'), el('th', {class: 'num wide'}, 'median'), el('th', {class: 'num'}, 'score'))),
      list)));
  const path = '/v1/devices/' + encodeURIComponent(id);
  poll(async () => {
    // Around an episode: from 100 readings before it to 50 after it (at most 1,000 readings).
    const around = episode
      ? '&before=' + (episode.to + 51) + '&limit=' + Math.min(1000, episode.to - episode.from + 151) : '&limit=200';
    const [readings, anomalies] = await Promise.all([
      api(path + '/readings?band=true' + around), api(path + '/anomalies?limit=1000')]);
    const items = readings.items.slice().reverse();
    const first = items.length ? items[0].seq : 0;
    const lastSeq = items.length ? items[items.length - 1].seq : 0;
    summary.textContent = (episode
      ? `${items.length} readings (seq ${first}–${lastSeq}) around the incident's episode of ${episode.metric}, ` +
        `seq ${episode.from}–${episode.to}, `
      : `${items.length} newest readings (seq ${first}–${lastSeq}), `) +
      `${anomalies.items.length}${anomalies.next_cursor ? '+' : ''} anomalies stored.`;
    const metrics = [...new Set(items.flatMap(r => Object.keys(r.metrics)))].sort();
    charts.replaceChildren(...metrics.map(m => {
      const points = items.filter(r => m in r.metrics).map(r => ({seq: r.seq, value: r.metrics[m], band: r.bands && r.bands[m]}));
      const marked = anomalies.items.filter(a => a.metric === m && a.seq >= first && a.seq <= lastSeq);
      const last = points.length ? points[points.length - 1] : null;
      const caption = el('figcaption', {}, m, el('small', {}, last && last.band
        ? `median ${fmt(last.band.median)}, band ${fmt(last.band.low)} – ${fmt(last.band.high)}` : 'not enough history for a band'));
      return el('figure', {}, caption, chart(m, points, marked, episode && episode.metric === m ? episode : null));
    }));
    list.replaceChildren(...anomalies.items.map(a => el('tr', {},
      el('td', {title: a.detected_at}, when(a.detected_at)), el('td', {class: 'num'}, a.seq), el('td', {}, a.metric),
      el('td', {class: 'num'}, fmt(a.value)), el('td', {class: 'num wide'}, fmt(a.median)),
      el('td', {class: 'num'}, a.score === null ? '∞' : fmt(a.score)))));
  });
}

function route() {
  generation++;
  clearTimeout(timer);
  takeKeyFromFragment();
  forget.hidden = readerKey() === null;
  const hash = location.hash || '#/';
  const [path, query] = hash.slice(1).split('?');
  const m = path.match(/^\/devices\/(.+)$/);
  if (m) deviceView(decodeURIComponent(m[1]), new URLSearchParams(query || ''));
  else if (path === '/devices') devicesView();
  else anomaliesView(new URLSearchParams(query || ''));
}
window.addEventListener('hashchange', route);
route();
