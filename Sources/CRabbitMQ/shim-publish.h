// Publishing and publisher confirms; part of shim.h (included from it, not on its own).
#ifndef PIPELINE_CRABBITMQ_SHIM_PUBLISH_H
#define PIPELINE_CRABBITMQ_SHIM_PUBLISH_H

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

/// Publishes one persistent message to the exchange named after `queue` (bound
/// to it), with `mandatory` set so an unroutable message comes back as a
/// basic.return instead of being confirmed and dropped. A non-empty `format`
/// names the body's format in the `x-pipeline-format` header (newline-delimited
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

#endif
