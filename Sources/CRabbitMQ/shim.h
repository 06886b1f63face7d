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

#include "shim-publish.h"
#include "shim-consume.h"

#endif
