/*
 * What the hal-ec618 binding check sees of the luatos-soc-2022 SDK: the vendor's headers for
 * every function the crate binds, as the SDK's own build compiles them (its defines and
 * include directories come from the vendored defines.txt and include-dirs.txt).
 *
 * The few typedefs below only give C names to types the Rust side names: FlashDB's structs
 * have tags but no typedefs of their own, and the `saved` member of struct fdb_blob has an
 * unnamed struct type.
 */
#ifndef HAL_EC618_CHECK_SDK_H
#define HAL_EC618_CHECK_SDK_H

#include <stddef.h>
#include <stdint.h>

#include "common_api.h"
#include "luat_rtos.h"
#include "luat_mem.h"
#include "luat_pm.h"
#include "luat_mcu.h"
#include "luat_mobile.h"
#include "luat_kv.h"
#include "luat_fota.h"
#include "flashdb.h"
#include "luat_network_adapter.h"
#include "net_lwip.h"
#include "mbedtls/ssl.h"

typedef struct fdb_blob fdb_blob;
typedef struct fdb_kvdb fdb_kvdb;
typedef __typeof__(((struct fdb_blob *)0)->saved) fdb_blob_saved;

#endif
