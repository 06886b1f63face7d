// Consuming: deliveries and their headers; part of shim.h (included from it, not on its own).
#ifndef PIPELINE_CRABBITMQ_SHIM_CONSUME_H
#define PIPELINE_CRABBITMQ_SHIM_CONSUME_H

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
