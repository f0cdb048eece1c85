/*
 * The hal-ec618 binding check: hal-ec618/src/sys.rs against the vendor's headers, compiled
 * for the Air780E's Cortex-M3 (-mcpu=cortex-m3 -mthumb) by `cargo xtask ec618-check`.
 *
 * sys_expected.h is generated from sys.rs: for every item there, a static assertion that the
 * C declaration of the same name is what the Rust declaration means (function types with
 * __builtin_types_compatible_p, aliases, struct sizes, alignments and field offsets, constant
 * values). The assertions below cover what the crate relies on beyond sys.rs.
 */
#include "sdk.h"
#include "sntp.h"
#include "hal_ec618_shim.h"

#include "sys_expected.h"

/* The vendor's objects use small enums; so must this compiler, or the sizes above mean
 * nothing (the xtask also reads Tag_ABI_enum_size from this object). */
enum hal_ec618_small { HAL_EC618_SMALL_MAX = 0xFF };
_Static_assert(sizeof(enum hal_ec618_small) == 1, "compiled without small enums");

/* The firmware's C handlers call the Rust handler with the mobile callback's arguments. */
_Static_assert(__builtin_types_compatible_p(__typeof__(hal_ec618_on_mobile_event),
		__typeof__(*(luat_mobile_event_callback_t)0)),
	"hal_ec618_on_mobile_event is not a luat_mobile_event_callback_t");

/* The adapter's control block: TLS contexts are pointers (so reusing a block across
 * reconnects keeps them), and the state the shim reads is a byte. */
_Static_assert(__builtin_types_compatible_p(__typeof__(((network_ctrl_t *)0)->state), uint8_t),
	"network_ctrl_t.state is not a uint8_t");
_Static_assert(__builtin_types_compatible_p(__typeof__(((network_ctrl_t *)0)->config),
		mbedtls_ssl_config *),
	"network_ctrl_t.config is not an mbedtls_ssl_config pointer");

/* The heap network_set_client_cert leaks per call, before parsing (see AdapterTransport). */
_Static_assert(sizeof(mbedtls_x509_crt) == 340, "sizeof(mbedtls_x509_crt) changed: update the docs");
_Static_assert(sizeof(mbedtls_pk_context) == 8, "sizeof(mbedtls_pk_context) changed: update the docs");

/* TLS-PSK needs the vendor's mbedTLS to have PSK key exchanges. */
#if !defined(MBEDTLS_KEY_EXCHANGE_PSK_ENABLED) || !defined(MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED)
#error "the SDK's mbedTLS configuration has no PSK key exchange"
#endif
