/*
 * C accessor used by the hal-ec618 Rust crate. Compile it inside the luatos-soc-2022 build
 * (add it to the project's sources), so that it sees the SDK's own network_ctrl_t layout.
 */
#include <stdint.h>
#include "luat_network_adapter.h"

/* ctrl->state (NW_STATE_*): the adapter state a failed connect stopped in. */
uint8_t hal_ec618_ctrl_state(network_ctrl_t *ctrl)
{
	return ctrl ? ctrl->state : 0;
}
