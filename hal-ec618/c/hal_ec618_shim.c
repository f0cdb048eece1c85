/*
 * C accessors used by the hal-ec618 Rust crate (prototypes in hal_ec618_shim.h). Compile this
 * file inside the luatos-soc-2022 build (add it to the project's sources), so that it sees the
 * SDK's own network_ctrl_t layout and mbedTLS configuration.
 */
#include "hal_ec618_shim.h"
#include "mbedtls/ssl.h"
#include "mbedtls/ssl_ciphersuites.h"

/* Defined in interface/src/luat_kv_ec618.c; no SDK header declares it. */
extern struct fdb_kvdb *luat_kvdb;

uint8_t hal_ec618_ctrl_state(network_ctrl_t *ctrl)
{
	return ctrl ? ctrl->state : 0;
}

struct fdb_kvdb *hal_ec618_kvdb(void)
{
	return luat_kvdb;
}

/*
 * Pre-shared-key suites only: with them no certificate is exchanged and the server proves
 * itself by knowing the key. ECDHE-PSK first (forward secrecy), then plain PSK. mbedTLS skips
 * the suites its configuration lacks. The list must outlive the configuration.
 */
static const int psk_suites[] = {
	MBEDTLS_TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
	MBEDTLS_TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384,
	MBEDTLS_TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA,
	MBEDTLS_TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA,
	MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_PSK_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_PSK_WITH_AES_128_CCM,
	MBEDTLS_TLS_PSK_WITH_AES_256_CCM,
	MBEDTLS_TLS_PSK_WITH_AES_128_CBC_SHA256,
	MBEDTLS_TLS_PSK_WITH_AES_256_CBC_SHA384,
	MBEDTLS_TLS_PSK_WITH_AES_128_CBC_SHA,
	MBEDTLS_TLS_PSK_WITH_AES_256_CBC_SHA,
	0
};

void hal_ec618_offer_psk_suites_only(network_ctrl_t *ctrl)
{
	if (ctrl && ctrl->config) {
		mbedtls_ssl_conf_ciphersuites(ctrl->config, psk_suites);
	}
}
