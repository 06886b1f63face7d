/// `GET /openapi.yaml`: the alerts API as it behaves (the integration tests
/// validate real responses of every operation and status against it).
/// Kept in the binary so a container needs no resource files.
enum OpenAPIDocument {
    static let yaml = #"""
        openapi: 3.1.0
        info:
          title: IoT pipeline alerts API
          version: "1"
          description: |
            Read-only access to the incidents the analyzer opened, the anomalies it flagged and the
            stored readings. An incident is one episode of one device's metric: what should page a
            person; anomalies are the per-reading evidence. Incidents are listed newest first (by
            `opened_at`, then device, opening seq and metric) with a keyset cursor, as anomalies are.
            Anomalies are listed newest first (by `detected_at`, then device, seq and metric) with a
            keyset cursor: walking the pages with `next_cursor` returns every anomaly that existed
            when the walk started exactly once, however many are added meanwhile.
            Errors are `{"error": "..."}`; 503 means the database is unavailable or too slow right now
            (retry after `Retry-After` seconds).
            Every `/v1` route needs a reader key (`pipeline reader issue NAME --scope ...`) as
            `Authorization: Bearer <key>`; a missing or wrong key is 401. A key sees only the devices of
            its scope: another device is absent from every list and a 404 on its own routes, exactly as a
            device that never sent a reading.
        security:
          - readerKey: []
        paths:
          /v1/anomalies:
            get:
              operationId: listAnomalies
              summary: Anomalies, newest first
              parameters:
                - $ref: "#/components/parameters/DeviceIdFilter"
                - $ref: "#/components/parameters/Metric"
                - $ref: "#/components/parameters/Since"
                - $ref: "#/components/parameters/Until"
                - $ref: "#/components/parameters/Limit100"
                - $ref: "#/components/parameters/FeedCursor"
              responses:
                "200":
                  description: One page of anomalies
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/AnomalyPage" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "503": { $ref: "#/components/responses/Unavailable" }
          /v1/incidents:
            get:
              operationId: listIncidents
              summary: Incidents, newest first
              parameters:
                - $ref: "#/components/parameters/DeviceIdFilter"
                - $ref: "#/components/parameters/Metric"
                - name: state
                  in: query
                  description: Only open, or only closed, incidents
                  schema: { type: string, enum: [open, closed] }
                - name: since
                  in: query
                  description: Only incidents opened at or after this time (RFC 3339)
                  schema: { type: string, format: date-time }
                - name: until
                  in: query
                  description: Only incidents opened before this time (RFC 3339); must be after `since`
                  schema: { type: string, format: date-time }
                - $ref: "#/components/parameters/Limit100"
                - $ref: "#/components/parameters/FeedCursor"
              responses:
                "200":
                  description: One page of incidents
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/IncidentPage" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "503": { $ref: "#/components/responses/Unavailable" }
          /v1/devices:
            get:
              operationId: listDevices
              summary: Devices that have stored readings, by id
              parameters:
                - $ref: "#/components/parameters/Limit100"
                - name: cursor
                  in: query
                  description: "`next_cursor` of the previous page"
                  schema: { type: string }
              responses:
                "200":
                  description: One page of devices
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/DevicePage" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "503": { $ref: "#/components/responses/Unavailable" }
          /v1/devices/{id}/anomalies:
            get:
              operationId: listDeviceAnomalies
              summary: One device's anomalies, newest first
              parameters:
                - $ref: "#/components/parameters/DeviceId"
                - $ref: "#/components/parameters/Metric"
                - $ref: "#/components/parameters/Since"
                - $ref: "#/components/parameters/Until"
                - $ref: "#/components/parameters/Limit100"
                - $ref: "#/components/parameters/FeedCursor"
              responses:
                "200":
                  description: One page of the device's anomalies
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/AnomalyPage" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "503": { $ref: "#/components/responses/Unavailable" }
          /v1/devices/{id}/readings:
            get:
              operationId: listDeviceReadings
              summary: One device's newest readings (below `before`, when given), highest seq first
              parameters:
                - $ref: "#/components/parameters/DeviceId"
                - name: limit
                  in: query
                  description: How many readings (default 200)
                  schema: { type: integer, minimum: 1, maximum: 1000, default: 200 }
                - name: before
                  in: query
                  description: Only readings with a seq below this one (to look at an older stretch, such as an incident's)
                  schema: { type: integer, minimum: 0, maximum: 9007199254740992 }
                - name: band
                  in: query
                  description: >
                    Add to each reading, per metric, the band it was judged against: the median and the
                    range of values that are not anomalies under the analyzer's rule.
                  schema: { type: boolean, default: false }
              responses:
                "200":
                  description: The readings
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/ReadingList" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "503": { $ref: "#/components/responses/Unavailable" }
          /healthz:
            get:
              operationId: health
              summary: Liveness (the process serves requests)
              security: []
              responses:
                "200":
                  description: Alive
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status]
                        properties: { status: { const: ok } }
          /readyz:
            get:
              operationId: ready
              summary: Readiness (the database answers)
              security: []
              responses:
                "200": { $ref: "#/components/responses/Readiness" }
                "503": { $ref: "#/components/responses/Readiness" }
        components:
          securitySchemes:
            readerKey:
              type: http
              scheme: bearer
              description: A reader key from `pipeline reader issue`; only its hash is stored.
          parameters:
            DeviceId:
              name: id
              in: path
              required: true
              schema: { $ref: "#/components/schemas/DeviceId" }
            DeviceIdFilter:
              name: device_id
              in: query
              schema: { $ref: "#/components/schemas/DeviceId" }
            Metric:
              name: metric
              in: query
              schema: { type: string, pattern: "^[a-z0-9_]{1,64}$" }
            Since:
              name: since
              in: query
              description: Only anomalies detected at or after this time (RFC 3339)
              schema: { type: string, format: date-time }
            Until:
              name: until
              in: query
              description: Only anomalies detected before this time (RFC 3339); must be after `since`
              schema: { type: string, format: date-time }
            Limit100:
              name: limit
              in: query
              description: Page size (default 100)
              schema: { type: integer, minimum: 1, maximum: 1000, default: 100 }
            FeedCursor:
              name: cursor
              in: query
              description: "`next_cursor` of the previous page, with the same filters"
              schema: { type: string }
          responses:
            BadRequest:
              description: A parameter is unknown, repeated or invalid
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Error" }
            Unauthorized:
              description: No reader key, or one that is not (or no longer) valid
              headers:
                WWW-Authenticate:
                  schema: { type: string }
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Error" }
            NotFound:
              description: No readings are stored for this device, or it is outside the key's scope
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Error" }
            Unavailable:
              description: The database is unavailable or did not answer in time
              headers:
                Retry-After:
                  schema: { type: integer }
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Error" }
            Readiness:
              description: Whether the service can serve; which dependency is missing is told on the admin port only
              content:
                application/json:
                  schema:
                    type: object
                    required: [ready]
                    additionalProperties: false
                    properties:
                      ready: { type: boolean }
          schemas:
            DeviceId:
              type: string
              pattern: "^[A-Za-z0-9._:-]{1,64}$"
            Timestamp:
              type: string
              format: date-time
              pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$"
            Error:
              type: object
              required: [error]
              additionalProperties: false
              properties:
                error: { type: string, minLength: 1 }
            Anomaly:
              type: object
              additionalProperties: false
              required: [device_id, seq, ts, metric, value, score, median, mad, window, detected_at]
              properties:
                device_id: { $ref: "#/components/schemas/DeviceId" }
                seq: { type: integer, minimum: 0 }
                ts: { $ref: "#/components/schemas/Timestamp" }
                metric: { type: string }
                value: { type: number }
                score:
                  type: [number, "null"]
                  description: "0.6745 (value - median) / mad; null when the window had no spread at all"
                median: { type: number }
                mad:
                  type: number
                  description: The dispersion the score divides by (the MAD, or its substitute when the MAD is 0)
                window: { type: integer, minimum: 1, description: Earlier readings the verdict used }
                detected_at: { $ref: "#/components/schemas/Timestamp" }
            AnomalyPage:
              type: object
              additionalProperties: false
              required: [items, next_cursor]
              properties:
                items:
                  type: array
                  items: { $ref: "#/components/schemas/Anomaly" }
                next_cursor:
                  type: [string, "null"]
                  description: Pass as `cursor` for the next page; null on the last page
            Incident:
              type: object
              additionalProperties: false
              required: [id, device_id, metric, state, opened_at, opened_seq, opened_ts, last_seq, closed_at, anomalies,
                peak_score, peak_value, reason]
              properties:
                id: { type: string, description: "`device_id/metric/opened_seq`: stable and unique" }
                device_id: { $ref: "#/components/schemas/DeviceId" }
                metric: { type: string }
                state: { type: string, enum: [open, closed] }
                opened_at: { $ref: "#/components/schemas/Timestamp" }
                opened_seq: { type: integer, minimum: 0, description: The reading that opened it }
                opened_ts: { $ref: "#/components/schemas/Timestamp" }
                last_seq: { type: integer, minimum: 0, description: The newest reading that was evidence of it }
                closed_at:
                  oneOf:
                    - { $ref: "#/components/schemas/Timestamp" }
                    - { type: "null" }
                  description: When it closed (200 readings without evidence); null while open
                anomalies: { type: integer, minimum: 0, description: Readings of the episode the per-reading rule flagged }
                peak_score:
                  type: [number, "null"]
                  description: The evidence's score of largest magnitude; null when that reading's window had no spread
                peak_value: { type: number }
                reason: { type: string, description: Why it opened, in words }
            IncidentPage:
              type: object
              additionalProperties: false
              required: [items, next_cursor]
              properties:
                items:
                  type: array
                  items: { $ref: "#/components/schemas/Incident" }
                next_cursor:
                  type: [string, "null"]
                  description: Pass as `cursor` for the next page; null on the last page
            Device:
              type: object
              additionalProperties: false
              required: [device_id, readings, anomalies, incidents, open_incidents, last_seen, last_seq]
              properties:
                device_id: { $ref: "#/components/schemas/DeviceId" }
                readings: { type: integer, minimum: 0, description: Readings stored }
                anomalies: { type: integer, minimum: 0, description: Anomalies stored (one per reading and metric) }
                incidents: { type: integer, minimum: 0, description: Incidents stored }
                open_incidents: { type: integer, minimum: 0, description: Of those, the open ones }
                last_seen:
                  oneOf:
                    - { $ref: "#/components/schemas/Timestamp" }
                    - { type: "null" }
                  description: When ingest accepted the newest stored reading
                last_seq: { type: [integer, "null"], description: The highest seq stored }
            DevicePage:
              type: object
              additionalProperties: false
              required: [items, next_cursor]
              properties:
                items:
                  type: array
                  items: { $ref: "#/components/schemas/Device" }
                next_cursor: { type: [string, "null"] }
            Band:
              type: object
              additionalProperties: false
              required: [median, mad, low, high, window]
              properties:
                median: { type: number }
                mad: { type: number }
                low: { type: number, description: Values above low and below high are not anomalies }
                high: { type: number }
                window: { type: integer, minimum: 1 }
            Reading:
              type: object
              additionalProperties: false
              required: [device_id, seq, ts, metrics]
              properties:
                device_id: { $ref: "#/components/schemas/DeviceId" }
                seq: { type: integer, minimum: 0 }
                ts: { $ref: "#/components/schemas/Timestamp" }
                metrics:
                  type: object
                  minProperties: 1
                  additionalProperties: { type: number }
                bands:
                  type: object
                  description: Only with `band=true`; a metric without enough history has no band
                  additionalProperties: { $ref: "#/components/schemas/Band" }
            ReadingList:
              type: object
              additionalProperties: false
              required: [items]
              properties:
                items:
                  type: array
                  items: { $ref: "#/components/schemas/Reading" }

        """#
}
