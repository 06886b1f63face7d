// Small C helpers around rabbitmq-c for what Swift cannot express well:
// the variadic amqp_login, field tables (unions) and the frames that follow a
// basic.return. Everything else is called from Swift directly.
#ifndef PIPELINE_CRABBITMQ_SHIM_H
#define PIPELINE_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/// Logs in with PLAIN, announcing the `connection.blocked` capability so the
/// broker tells this client when a resource alarm blocks its publishes (and
/// when it lifts), and naming the connection for the management UI.
static inline amqp_rpc_reply_t pipeline_amqp_login(amqp_connection_state_t c, const char *vhost,
                                                   int frame_max, int heartbeat,
                                                   const char *user, const char *password,
                                                   const char *connection_name) {
    amqp_table_entry_t capabilities[2];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;
    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 2;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
    amqp_table_t table = {2, properties};
    return amqp_login_with_properties(c, vhost, 0, frame_max, heartbeat, &table, AMQP_SASL_METHOD_PLAIN, user,
                                      password);
}

/// Makes an amqps:// socket verify the broker against the system's trusted CAs
/// (used when no CA file is given). Returns 1 on success.
static inline int pipeline_ssl_use_system_roots(amqp_socket_t *socket) {
    SSL_CTX *ctx = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    return ctx != NULL && SSL_CTX_set_default_verify_paths(ctx) == 1;
}

static inline int pipeline_reply_ok(amqp_rpc_reply_t r) {
    return r.reply_type == AMQP_RESPONSE_NORMAL;
}

/// Describes an RPC reply into `buf` (always NUL-terminated).
static inline void pipeline_describe_reply(amqp_rpc_reply_t r, char *buf, size_t len) {
    if (len == 0) return;
    buf[0] = 0;
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, len, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, len, "missing RPC reply");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, len, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = (amqp_connection_close_t *)r.reply.decoded;
            snprintf(buf, len, "connection closed by broker: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = (amqp_channel_close_t *)r.reply.decoded;
            snprintf(buf, len, "channel closed by broker: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(buf, len, "unexpected server method 0x%08X", r.reply.id);
        }
        break;
    }
}

/// True when `r` is a channel.close with `code` (which closed the channel).
static inline int pipeline_channel_closed_with(amqp_rpc_reply_t r, int code) {
    return r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
           ((amqp_channel_close_t *)r.reply.decoded)->reply_code == code;
}

/// After a channel.close from the broker: confirms it and opens the channel again. 1 on success.
static inline int pipeline_reopen_channel(amqp_connection_state_t c, amqp_channel_t ch) {
    amqp_channel_close_ok_t close_ok;
    if (amqp_send_method(c, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok) != AMQP_STATUS_OK) return 0;
    amqp_channel_open(c, ch);
    return pipeline_reply_ok(amqp_get_rpc_reply(c));
}

/// Checks, with passive declares (which need no permission), that the topology
/// exists: for a user that may not declare it. 2 when it does; -8 when something
/// is missing (the reply says what), -9 on another failure.
static inline int pipeline_check_topology(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
                                          const char *dlx, const char *dlq) {
    const char *exchanges[2] = {dlx, queue};
    for (int i = 0; i < 2; i++) {
        amqp_exchange_declare(c, ch, amqp_cstring_bytes(exchanges[i]), amqp_cstring_bytes(i == 0 ? "fanout" : "direct"),
                              1, 0, 0, 0, amqp_empty_table);
        amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
        if (!pipeline_reply_ok(r)) return pipeline_channel_closed_with(r, AMQP_NOT_FOUND) ? -8 : -9;
    }
    const char *queues[2] = {dlq, queue};
    for (int i = 0; i < 2; i++) {
        amqp_queue_declare(c, ch, amqp_cstring_bytes(queues[i]), 1, 0, 0, 0, amqp_empty_table);
        amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
        if (!pipeline_reply_ok(r)) return pipeline_channel_closed_with(r, AMQP_NOT_FOUND) ? -8 : -9;
    }
    return 2;
}

/// Declares the topology: the dead-letter exchange and quorum queue, the main
/// durable quorum queue, whose dead letters are at-least-once (which quorum
/// queues allow only with `x-overflow: reject-publish`), and a direct exchange
/// of the queue's name bound to it, which ingest publishes to (so a broker user
/// can be allowed to write to that exchange and nothing else). Idempotent as
/// long as the arguments stay the same. Returns 0 on success; 1 when the main
/// queue exists with other arguments (declared by an older version: it is used
/// as it is, and a policy brings it up to date); 2 when this user may not
/// declare (ACCESS_REFUSED) and the topology was found in place; negative on
/// failure, when the caller reads amqp_get_rpc_reply.
static inline int pipeline_declare_topology(amqp_connection_state_t c, amqp_channel_t ch,
                                            const char *queue, const char *dlx, const char *dlq,
                                            int delivery_limit) {
    amqp_exchange_declare(c, ch, amqp_cstring_bytes(dlx), amqp_cstring_bytes("fanout"),
                          0, 1, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t first = amqp_get_rpc_reply(c);
    if (pipeline_channel_closed_with(first, AMQP_ACCESS_REFUSED)) {
        if (!pipeline_reopen_channel(c, ch)) return -5;
        return pipeline_check_topology(c, ch, queue, dlx, dlq);
    }
    if (!pipeline_reply_ok(first)) return -1;

    amqp_table_entry_t dlq_args[1];
    dlq_args[0].key = amqp_cstring_bytes("x-queue-type");
    dlq_args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    dlq_args[0].value.value.bytes = amqp_cstring_bytes("quorum");
    amqp_table_t dlq_table = {1, dlq_args};
    amqp_queue_declare(c, ch, amqp_cstring_bytes(dlq), 0, 1, 0, 0, dlq_table);
    if (!pipeline_reply_ok(amqp_get_rpc_reply(c))) return -2;
    amqp_queue_bind(c, ch, amqp_cstring_bytes(dlq), amqp_cstring_bytes(dlx),
                    amqp_cstring_bytes(""), amqp_empty_table);
    if (!pipeline_reply_ok(amqp_get_rpc_reply(c))) return -3;
    amqp_exchange_declare(c, ch, amqp_cstring_bytes(queue), amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
    if (!pipeline_reply_ok(amqp_get_rpc_reply(c))) return -1;

    amqp_table_entry_t args[5];
    args[0].key = amqp_cstring_bytes("x-queue-type");
    args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    args[0].value.value.bytes = amqp_cstring_bytes("quorum");
    args[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = amqp_cstring_bytes(dlx);
    args[2].key = amqp_cstring_bytes("x-delivery-limit");
    args[2].value.kind = AMQP_FIELD_KIND_I32;
    args[2].value.value.i32 = delivery_limit;
    args[3].key = amqp_cstring_bytes("x-dead-letter-strategy");
    args[3].value.kind = AMQP_FIELD_KIND_UTF8;
    args[3].value.value.bytes = amqp_cstring_bytes("at-least-once");
    args[4].key = amqp_cstring_bytes("x-overflow");
    args[4].value.kind = AMQP_FIELD_KIND_UTF8;
    args[4].value.value.bytes = amqp_cstring_bytes("reject-publish");
    amqp_table_t table = {5, args};
    amqp_queue_declare(c, ch, amqp_cstring_bytes(queue), 0, 1, 0, 0, table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    int result = 0;
    if (!pipeline_reply_ok(r)) {
        if (!pipeline_channel_closed_with(r, AMQP_PRECONDITION_FAILED)) return -4;
        // PRECONDITION_FAILED closed the channel: reopen it, and check that the queue
        // exists (a passive declare compares no arguments).
        if (!pipeline_reopen_channel(c, ch)) return -6;
        amqp_queue_declare(c, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
        if (!pipeline_reply_ok(amqp_get_rpc_reply(c))) return -7;
        result = 1;
    }
    amqp_queue_bind(c, ch, amqp_cstring_bytes(queue), amqp_cstring_bytes(queue), amqp_cstring_bytes(queue),
                    amqp_empty_table);
    if (!pipeline_reply_ok(amqp_get_rpc_reply(c))) return -3;
    return result;
}

/// The number of ready messages in `queue` (a passive declare), or -1.
static inline long pipeline_queue_depth(amqp_connection_state_t c, amqp_channel_t ch, const char *queue) {
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(c, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (!ok || !pipeline_reply_ok(amqp_get_rpc_reply(c))) return -1;
    return (long)ok->message_count;
}

/// Publishes one persistent message to the exchange named after `queue` (bound
/// to it), with `mandatory` set so an unroutable message comes back as a
/// basic.return instead of being confirmed and dropped. A non-empty `format`
/// names the body's format in the `x-pipeline-format` header (newline-delimited

/// The second of two header entries, `x-pipeline-format`, set only when `format` is not empty.
static inline void pipeline_set_format(amqp_basic_properties_t *props, amqp_table_entry_t headers[2], const char *format) {
    headers[1].key = amqp_cstring_bytes("x-pipeline-format");
    headers[1].value.kind = AMQP_FIELD_KIND_UTF8;
    headers[1].value.value.bytes = amqp_cstring_bytes(format);
    props->headers.num_entries = format[0] ? 2 : 1;
    props->headers.entries = headers;
}

/// A message body as rabbitmq-c takes it (not copied: it must outlive the publish call).
static inline amqp_bytes_t pipeline_bytes(const void *body, size_t len) {
    amqp_bytes_t b;
    b.len = len;
    b.bytes = (void *)body;
    return b;
}
/// readings: `application/x-ndjson`); empty, the body is one JSON reading.
static inline int pipeline_publish(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
                                   const void *body, size_t body_len, const char *message_id,
                                   int64_t ingested_at_ms, const char *format) {
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.content_type = amqp_cstring_bytes(format[0] ? "application/x-ndjson" : "application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = amqp_cstring_bytes(message_id);
    amqp_table_entry_t headers[2];
    headers[0].key = amqp_cstring_bytes("x-ingested-at-ms");
    headers[0].value.kind = AMQP_FIELD_KIND_I64;
    headers[0].value.value.i64 = ingested_at_ms;
    pipeline_set_format(&props, headers, format);
    amqp_bytes_t b = pipeline_bytes(body, body_len);
    return amqp_basic_publish(c, ch, amqp_cstring_bytes(queue), amqp_cstring_bytes(queue), 1, 0, &props, b);
}

/// Publishes a message that failed processing to the dead-letter exchange,
/// persistent, with the reason in the `x-pipeline-error` header, the original
/// message id and, when not empty, its `x-pipeline-format`.
static inline int pipeline_publish_dead(amqp_connection_state_t c, amqp_channel_t ch, const char *exchange,
                                        const void *body, size_t body_len, const char *message_id,
                                        const char *reason, const char *format) {
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.content_type = amqp_cstring_bytes(format[0] ? "application/x-ndjson" : "application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    if (message_id[0]) {
        props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        props.message_id = amqp_cstring_bytes(message_id);
    }
    amqp_table_entry_t headers[2];
    headers[0].key = amqp_cstring_bytes("x-pipeline-error");
    headers[0].value.kind = AMQP_FIELD_KIND_UTF8;
    headers[0].value.value.bytes = amqp_cstring_bytes(reason);
    pipeline_set_format(&props, headers, format);
    amqp_bytes_t b = pipeline_bytes(body, body_len);
    return amqp_basic_publish(c, ch, amqp_cstring_bytes(exchange), amqp_empty_bytes, 1, 0, &props, b);
}

/// Copies the string entry `name` of a field table into `buf`; returns its length, or -1 when absent.
static inline long pipeline_table_string(const amqp_table_t *t, const char *name, char *buf, size_t len) {
    if (t == NULL || len == 0) return -1;
    size_t nlen = strlen(name);
    for (int i = 0; i < t->num_entries; i++) {
        const amqp_table_entry_t *e = &t->entries[i];
        if (e->key.len != nlen || memcmp(e->key.bytes, name, nlen) != 0) continue;
        if (e->value.kind != AMQP_FIELD_KIND_UTF8 && e->value.kind != AMQP_FIELD_KIND_BYTES) return -1;
        size_t n = e->value.value.bytes.len < len - 1 ? e->value.value.bytes.len : len - 1;
        memcpy(buf, e->value.value.bytes.bytes, n);
        buf[n] = 0;
        return (long)n;
    }
    return -1;
}

/// Copies the string header `name` of a delivered message into `buf`; returns its length, or -1 when absent.
static inline long pipeline_header_string(const amqp_basic_properties_t *p, const char *name, char *buf, size_t len) {
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG)) return -1;
    return pipeline_table_string(&p->headers, name, buf, len);
}

enum pipeline_confirm_kind {
    PIPELINE_FRAME_TIMEOUT = 0,
    PIPELINE_FRAME_ACK = 1,
    PIPELINE_FRAME_NACK = 2,
    PIPELINE_FRAME_RETURN = 3,
    PIPELINE_FRAME_CLOSED = 4,
    PIPELINE_FRAME_OTHER = 5,
    PIPELINE_FRAME_ERROR = 6,
    /// connection.blocked (a resource alarm); its reason is copied like a returned id.
    PIPELINE_FRAME_BLOCKED = 7,
    PIPELINE_FRAME_UNBLOCKED = 8,
};

/// Waits up to `timeout_ms` for the next frame on a confirm-mode channel and
/// classifies it. For acks and nacks, `tag` and `multiple` are set. For a
/// basic.return the returned message is read and its message id copied to
/// `returned_id` (NUL-terminated). On error `status` holds the library status.
static inline enum pipeline_confirm_kind pipeline_wait_confirm(amqp_connection_state_t c, amqp_channel_t ch, int timeout_ms,
                                        uint64_t *tag, int *multiple, char *returned_id,
                                        size_t returned_len, int *status) {
    amqp_frame_t frame;
    struct timeval tv;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    int rc = amqp_simple_wait_frame_noblock(c, &frame, &tv);
    *status = rc;
    if (rc == AMQP_STATUS_TIMEOUT) return PIPELINE_FRAME_TIMEOUT;
    if (rc != AMQP_STATUS_OK) return PIPELINE_FRAME_ERROR;
    if (frame.frame_type != AMQP_FRAME_METHOD) return PIPELINE_FRAME_OTHER;
    switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *m = (amqp_basic_ack_t *)frame.payload.method.decoded;
        *tag = m->delivery_tag;
        *multiple = m->multiple;
        return PIPELINE_FRAME_ACK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *m = (amqp_basic_nack_t *)frame.payload.method.decoded;
        *tag = m->delivery_tag;
        *multiple = m->multiple;
        return PIPELINE_FRAME_NACK;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_message_t msg;
        amqp_rpc_reply_t r = amqp_read_message(c, ch, &msg, 0);
        if (!pipeline_reply_ok(r)) return PIPELINE_FRAME_ERROR;
        if (returned_len > 0) {
            size_t n = 0;
            if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
                n = msg.properties.message_id.len < returned_len - 1 ? msg.properties.message_id.len
                                                                     : returned_len - 1;
                memcpy(returned_id, msg.properties.message_id.bytes, n);
            }
            returned_id[n] = 0;
        }
        amqp_destroy_message(&msg);
        return PIPELINE_FRAME_RETURN;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        amqp_connection_blocked_t *m = (amqp_connection_blocked_t *)frame.payload.method.decoded;
        if (returned_len > 0) {
            size_t n = m->reason.len < returned_len - 1 ? m->reason.len : returned_len - 1;
            memcpy(returned_id, m->reason.bytes, n);
            returned_id[n] = 0;
        }
        return PIPELINE_FRAME_BLOCKED;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        return PIPELINE_FRAME_UNBLOCKED;
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return PIPELINE_FRAME_CLOSED;
    default:
        return PIPELINE_FRAME_OTHER;
    }
}

/// Reads the integer header `name` of a delivered message; returns 0 when absent.
static inline int pipeline_header_i64(const amqp_basic_properties_t *p, const char *name, int64_t *out) {
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
    size_t len = strlen(name);
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len != len || memcmp(e->key.bytes, name, len) != 0) continue;
        switch (e->value.kind) {
        case AMQP_FIELD_KIND_I64: *out = e->value.value.i64; return 1;
        case AMQP_FIELD_KIND_U64: *out = (int64_t)e->value.value.u64; return 1;
        case AMQP_FIELD_KIND_I32: *out = e->value.value.i32; return 1;
        case AMQP_FIELD_KIND_TIMESTAMP: *out = (int64_t)e->value.value.u64; return 1;
        default: return 0;
        }
    }
    return 0;
}

/// Copies the message id of a delivered message into `buf`; returns its length (0 if absent).
static inline size_t pipeline_message_id(const amqp_basic_properties_t *p, char *buf, size_t len) {
    if (len == 0) return 0;
    size_t n = 0;
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        n = p->message_id.len < len - 1 ? p->message_id.len : len - 1;
        memcpy(buf, p->message_id.bytes, n);
    }
    buf[n] = 0;
    return n;
}

/// basic.consume with manual acks. Strings are passed as C strings so Swift's
/// temporary bridging pointers stay valid for the whole call.
static inline void pipeline_basic_consume(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
                                          const char *consumer_tag) {
    amqp_basic_consume(c, ch, amqp_cstring_bytes(queue), amqp_cstring_bytes(consumer_tag), 0, 0, 0,
                       amqp_empty_table);
}

static inline void pipeline_basic_cancel(amqp_connection_state_t c, amqp_channel_t ch, const char *consumer_tag) {
    amqp_basic_cancel(c, ch, amqp_cstring_bytes(consumer_tag));
}

/// Consumes with a timeout. Returns 1 with an envelope, 0 on timeout, -1 on a
/// broken connection or channel (status in `status`).
static inline int pipeline_consume(amqp_connection_state_t c, amqp_envelope_t *env, int timeout_ms,
                                   int *status) {
    struct timeval tv;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    amqp_maybe_release_buffers(c);
    amqp_rpc_reply_t r = amqp_consume_message(c, env, &tv, 0);
    *status = 0;
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return 1;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        *status = r.library_error;
        if (r.library_error == AMQP_STATUS_TIMEOUT) return 0;
        if (r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            // A frame other than basic.deliver: a close, or something we ignore.
            amqp_frame_t frame;
            if (amqp_simple_wait_frame(c, &frame) != AMQP_STATUS_OK) return -1;
            if (frame.frame_type == AMQP_FRAME_METHOD &&
                (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                 frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
                *status = AMQP_STATUS_CONNECTION_CLOSED;
                return -1;
            }
            return 0;
        }
    }
    return -1;
}

#endif
