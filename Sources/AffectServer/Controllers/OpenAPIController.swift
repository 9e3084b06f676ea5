import Hummingbird

/// `GET /openapi.json`: the API description. A test holds it to exactly the routes served.
struct OpenAPIController {
    func addRoutes(to routes: Routes) {
        routes.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}

/// The OpenAPI 3.1 document of Affect's HTTP interface.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Affect study platform",
        "version": "1",
        "description": "Studies, stimuli, participant links, consent, capture and live results. Expression scores are probabilistic estimates of how a face looks, never statements about what a person feels. JSON uses snake_case."
      },
      "components": {
        "securitySchemes": {
          "token": {"type": "http", "scheme": "bearer", "description": "An API token (afk_...). Roles: admin, analyst."}
        },
        "schemas": {
          "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"message": {"type": "string"}}}}},
          "StudyCreate": {
            "type": "object",
            "required": ["name", "purpose", "context"],
            "properties": {
              "name": {"type": "string"},
              "purpose": {"type": "string", "description": "In words participants will read."},
              "context": {"enum": ["media-research", "market-research", "healthcare", "public-space", "retail", "workplace", "education", "other"],
                          "description": "workplace and education are refused (EU AI Act Art. 5(1)(f)) unless exemption is medical or safety."},
              "exemption": {"enum": ["medical", "safety"]},
              "mode": {"enum": ["individual", "aggregate", "group"], "default": "individual"},
              "retention_days": {"type": "integer", "default": 30},
              "k": {"type": "integer", "default": 5},
              "excluded_emotions": {"type": "array", "items": {"$ref": "#/components/schemas/Emotion"}},
              "window_seconds": {"type": "number", "default": 10},
              "notice_version": {"type": "string", "default": "1"},
              "on_withdrawal": {"enum": ["delete", "keep-aggregates"], "default": "delete"},
              "participant_readout": {"type": "boolean", "default": false, "description": "Participants see what is stored about them, live."},
              "privacy_budget": {"type": "number", "description": "Total differential-privacy ε for segment comparisons."}
            }
          },
          "Emotion": {"enum": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]},
          "Study": {"type": "object", "properties": {"id": {"type": "string"}, "created_at": {"type": "integer"}, "definition": {"type": "object"}}},
          "InvitationCreate": {"type": "object", "properties": {"stimulus_id": {"type": "string"}, "hours": {"type": "number", "default": 72}}},
          "InvitationCreated": {"type": "object", "properties": {"invitation": {"type": "object"}, "path": {"type": "string", "description": "/p/<secret>; shown once."}}},
          "Briefing": {"type": "object", "properties": {"study": {"type": "string"}, "purpose": {"type": "string"}, "notice": {"type": "string"},
                       "notice_version": {"type": "string"}, "expressions": {"type": "array", "items": {"$ref": "#/components/schemas/Emotion"}},
                       "stimulus_id": {"type": "string"}}},
          "ConsentRequest": {"type": "object", "required": ["agreed"], "properties": {"agreed": {"const": true},
                             "excluded_emotions": {"type": "array", "items": {"$ref": "#/components/schemas/Emotion"}},
                             "segment": {"type": "object", "additionalProperties": {"type": "string"}}}},
          "ConsentGiven": {"type": "object", "properties": {"participant_id": {"type": "string"}, "consent_id": {"type": "string"}}},
          "StimulusCreate": {"type": "object", "required": ["name", "source"], "properties": {"name": {"type": "string"},
                             "variant": {"type": "string", "default": "A"},
                             "source": {"type": "string", "maxLength": 2048, "description": "An http:// or https:// address the participant's browser plays. Never a server path: files are uploaded (stimuli/upload)."}}},
          "Stimulus": {"type": "object", "properties": {"id": {"type": "string"}, "study_id": {"type": "string"}, "name": {"type": "string"},
                       "variant": {"type": "string"}, "source": {"type": "string", "description": "The web address, upload:FILE for a file the server keeps, or retired:server-path for a path stored by an earlier Affect (not served)."}, "created_at": {"type": "integer"}}},
          "Withdrawal": {"type": "object", "properties": {"participant": {"type": "string"}, "sessions_deleted": {"type": "integer"},
                         "rows_deleted": {"type": "integer"}, "windows_kept_anonymously": {"type": "integer"}}},
          "LiveSnapshot": {"type": "object", "description": "Running and recently ended sessions with their health and stored points, and the audience timeline per stimulus.",
                           "properties": {"sessions": {"type": "array", "items": {"type": "object"}}, "audiences": {"type": "array", "items": {"type": "object"}}}}
        }
      },
      "paths": {
        "/healthz": {"get": {"summary": "The process answers.", "responses": {"200": {"description": "ok"}}}},
        "/readyz": {"get": {"summary": "The database answers.", "responses": {"200": {"description": "ready"}, "503": {"description": "database unavailable"}}}},
        "/metrics": {"get": {"summary": "Prometheus text: frames received, sampled, analysed and dropped by reason; latency histograms; load ladder.",
                             "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
        "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/api/v1/studies": {
          "get": {"summary": "List studies (admin, analyst).", "security": [{"token": []}],
                  "responses": {"200": {"description": "studies", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Study"}}}}},
                                "401": {"description": "no or unknown token"}, "403": {"description": "role"}}},
          "post": {"summary": "Create a study (admin).", "security": [{"token": []}],
                   "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StudyCreate"}}}},
                   "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Study"}}}},
                                 "400": {"description": "malformed JSON"}, "401": {"description": "no or unknown token"}, "403": {"description": "role"},
                                 "409": {"description": "name taken"}, "422": {"description": "refused: invalid, or prohibited by EU AI Act Art. 5(1)(f)"}}}
        },
        "/api/v1/studies/{study}": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "Study id or name."}],
          "get": {"summary": "One study (admin, analyst).", "security": [{"token": []}],
                  "responses": {"200": {"description": "study", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Study"}}}},
                                "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/notice": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "The transparency notice participants read (EU AI Act Art. 50).", "security": [{"token": []}],
                  "responses": {"200": {"description": "text"}, "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/invitations": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "post": {"summary": "A single-use, expiring participant link (admin).", "security": [{"token": []}],
                   "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/InvitationCreate"}}}},
                   "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InvitationCreated"}}}},
                                 "404": {"description": "unknown study or stimulus"}, "422": {"description": "invalid duration"}}}
        },
        "/api/v1/studies/{study}/stimuli": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "A study's stimuli (admin, analyst).", "security": [{"token": []}],
                  "responses": {"200": {"description": "stimuli", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Stimulus"}}}}},
                                "404": {"description": "unknown study"}}},
          "post": {"summary": "Register a stimulus variant (admin).", "security": [{"token": []}],
                   "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StimulusCreate"}}}},
                   "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stimulus"}}}},
                                 "404": {"description": "unknown study"}, "409": {"description": "name and variant taken"}, "422": {"description": "a name, variant or address breaks the rules (not http(s), too long, control characters)"}}}
        },
        "/api/v1/studies/{study}/stimuli/upload": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "name", "in": "query", "required": true, "schema": {"type": "string"}},
                         {"name": "variant", "in": "query", "schema": {"type": "string", "default": "A"}}],
          "post": {"summary": "Upload a stimulus video (MP4 or WebM) as the request body (admin); it is kept in the server's data directory.",
                   "security": [{"token": []}], "requestBody": {"required": true, "content": {"video/mp4": {}, "video/webm": {}}},
                   "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stimulus"}}}},
                                 "400": {"description": "no name"}, "413": {"description": "over the upload limit"},
                                 "415": {"description": "not MP4 or WebM"}, "422": {"description": "a name or variant breaks the rules"}, "503": {"description": "no data directory"}}}
        },
        "/api/v1/studies/{study}/sessions": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "A study's sessions (admin, analyst).", "security": [{"token": []}],
                  "responses": {"200": {"description": "sessions"}, "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/results": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "stimulus", "in": "query", "schema": {"type": "string"}, "description": "A stimulus id."},
                         {"name": "variant", "in": "query", "schema": {"type": "string"}}, {"name": "name", "in": "query", "schema": {"type": "string"}},
                         {"name": "segment", "in": "query", "schema": {"type": "string"}, "description": "key:value; repeat for several."},
                         {"name": "from_ms", "in": "query", "schema": {"type": "number"}}, {"name": "to_ms", "in": "query", "schema": {"type": "number"}},
                         {"name": "expression", "in": "query", "schema": {"$ref": "#/components/schemas/Emotion"}},
                         {"name": "bin_ms", "in": "query", "schema": {"type": "number", "default": 500}},
                         {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"], "default": "json"}}],
          "get": {"summary": "Audience means per bin of stimulus time over participants (admin, analyst); bins with fewer than the study's k participants are withheld.",
                  "security": [{"token": []}],
                  "responses": {"200": {"description": "bins, as JSON or CSV"}, "400": {"description": "bad parameter"}, "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/report": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "format", "in": "query", "schema": {"enum": ["json", "csv", "html"], "default": "json"}},
                         {"name": "bin_ms", "in": "query", "schema": {"type": "number", "default": 500}},
                         {"name": "segment_by", "in": "query", "schema": {"type": "string"}, "description": "Compare participants by this self-reported attribute."},
                         {"name": "epsilon", "in": "query", "schema": {"type": "number"}, "description": "Laplace noise of this total ε on the segment table, spent from the study's privacy budget."}],
          "get": {"summary": "The study's audience report (admin, analyst): as affect report writes it.",
                  "security": [{"token": []}],
                  "responses": {"200": {"description": "JSON, CSV or a self-contained HTML file"}, "400": {"description": "bad parameter"},
                                "403": {"description": "the privacy budget cannot pay for this release"},
                                "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/audience-moments": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "The study's audience moments and their reviews (admin, analyst); reports queue them.",
                  "security": [{"token": []}], "responses": {"200": {"description": "moments"}, "404": {"description": "unknown study"}}}
        },
        "/api/v1/studies/{study}/audience-moments/{moment}": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "moment", "in": "path", "required": true, "schema": {"type": "string"}}],
          "post": {"summary": "Record a reviewer's decision on a moment (admin, analyst).", "security": [{"token": []}],
                   "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["decision"],
                     "properties": {"decision": {"enum": ["confirmed", "dismissed"]}, "note": {"type": "string"}}}}}},
                   "responses": {"200": {"description": "the reviewed moment"}, "400": {"description": "bad decision"},
                                 "404": {"description": "unknown study or moment"}}}
        },
        "/api/v1/studies/{study}/moments": {
          "parameters": [{"name": "study", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "Expression moments stored for the study's sessions (individual mode only) (admin, analyst).",
                  "security": [{"token": []}], "responses": {"200": {"description": "moments"}, "404": {"description": "unknown study"}}}
        },
        "/api/v1/live": {
          "get": {"summary": "Live sessions, their health and what was stored for them (admin, analyst).", "security": [{"token": []}],
                  "responses": {"200": {"description": "snapshot", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LiveSnapshot"}}}}}}
        },
        "/api/v1/live/events": {
          "get": {"summary": "The same as Server-Sent Events: snapshot, then status, points, removed and audience events (admin, analyst).",
                  "security": [{"token": []}], "responses": {"200": {"description": "text/event-stream"}}}
        },
        "/dashboard": {"get": {"summary": "The live dashboard page (it asks for a token).", "responses": {"200": {"description": "text/html"}}}},
        "/p/{secret}": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "The participant page: notice, consent, camera, stimulus.", "responses": {"200": {"description": "text/html"}}}
        },
        "/p/{secret}/ws": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "WebSocket for one capture session through a consented link.",
                  "description": "Binary messages: 8-byte little-endian double stimulus media time (ms), 8-byte capture time (ms), then a JPEG. Text: {\"type\": \"end\"}. The server sends {\"type\": \"ready\"|\"rate\", \"fps\": n}. Close codes: 1009 frame over the size limit, 1003 not a JPEG or malformed, 1008 faster than allowed, 1000 ended or withdrawn, 1011 stream given up.",
                  "responses": {"101": {"description": "switching protocols"}, "403": {"description": "consent withdrawn"},
                                "410": {"description": "link unknown, without consent, expired or already used for a session"},
                                "503": {"description": "the server has no models"}}}
        },
        "/p/{secret}/stimulus": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "The link's stimulus video (or a redirect to its URL).",
                  "responses": {"200": {"description": "video"}, "302": {"description": "redirect to the stimulus URL"}, "404": {"description": "no stimulus"},
                                "410": {"description": "a path stored by an earlier Affect: upload the video again"}}}
        },
        "/p/{secret}/withdraw": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "post": {"summary": "Withdraw consent: processing stops and the data goes as the study's withdrawal policy says.",
                   "responses": {"200": {"description": "withdrawn", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Withdrawal"}}}},
                                 "403": {"description": "already withdrawn"}, "410": {"description": "link unknown or expired"}}}
        },
        "/p/{secret}/briefing": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {"summary": "What the participant reads before consenting.",
                  "responses": {"200": {"description": "briefing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Briefing"}}}},
                                "410": {"description": "link unknown, used or expired"}}}
        },
        "/p/{secret}/consent": {
          "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}],
          "post": {"summary": "Explicit consent through the link; uses the link up.",
                   "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConsentRequest"}}}},
                   "responses": {"201": {"description": "recorded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConsentGiven"}}}},
                                 "400": {"description": "malformed, or agreed is not true"}, "410": {"description": "link unknown, used or expired"},
                                 "422": {"description": "invalid segment attributes"}}}
        }
      }
    }
    """#
}
