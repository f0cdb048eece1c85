/*
 * thirdparty/sntp/sntp.h is not among the vendored headers (the SNTP component is optional in
 * the SDK build). Its declarations at commit 84dc723e, restated for the check: the prototype
 * of SntpInit, the result its callback receives, and the default port. BOOL, CHAR, UINT8,
 * UINT16 and CBFuncEx_t are the vendor's own (commontypedef.h, bsp_common.h), so their sizes
 * and the callback's type are checked for real; the restatement itself is checked only
 * against the Rust declarations.
 */
#ifndef HAL_EC618_CHECK_SNTP_H
#define HAL_EC618_CHECK_SNTP_H

#include "commontypedef.h"
#include "common_api.h"

#define SNTP_DEFAULT_PORT 123

typedef struct
{
	uint8_t succ;
	uint32_t sec;
	uint32_t us;
} sntp_result_t;

BOOL SntpInit(CHAR *serverAddr, UINT16 serverPort, BOOL autoSync, UINT8 cid, CBFuncEx_t callback,
		void *user_param);

#endif
