/*
 * The C side of the hal-ec618 Rust crate.
 *
 * - hal_ec618_shim.c defines the hal_ec618_* accessors below. Add it to the firmware's sources
 *   so that the SDK build compiles it: it must see the SDK's own struct layouts and mbedTLS
 *   configuration.
 * - hal_ec618_on_mobile_event is defined by the Rust library. A firmware whose C code keeps
 *   its own mobile event handler calls it from that handler with the same arguments.
 */
#ifndef HAL_EC618_SHIM_H
#define HAL_EC618_SHIM_H

#include <stdint.h>
#include "luat_network_adapter.h"
#include "luat_mobile.h"
#include "flashdb.h"

/* ctrl->state (NW_STATE_*): the adapter state a failed connect stopped in. */
uint8_t hal_ec618_ctrl_state(network_ctrl_t *ctrl);

/* The SDK's key-value database (set by luat_kv_init; NULL before it). */
struct fdb_kvdb *hal_ec618_kvdb(void);

/* Offer only pre-shared-key cipher suites on this ctrl (call after network_init_tls). */
void hal_ec618_offer_psk_suites_only(network_ctrl_t *ctrl);

/* Defined in Rust: the mobile event handler, for C handlers to forward events to. */
void hal_ec618_on_mobile_event(LUAT_MOBILE_EVENT_E event, uint8_t index, uint8_t status);

#endif
