# pragma version ~=0.4.3
"""
@title HookTrader
@notice A trader that is a contract, for tests only: it sends any call
        it is told to (so it can sell and buy on the escrow), and when a
        HookToken moves its tokens it makes the one call it was armed
        with, recording whether that re-entry went through. With
        `revert_on_hook` its hook reverts, so the token refuses every
        move to or from it.
"""

# @dev The call made from the next hook, if `armed`.
armed: public(bool)
hook_target: public(address)
hook_data: public(Bytes[356])
# @dev Whether the last armed re-entry succeeded, and how many ran.
reentry_succeeded: public(bool)
reentries: public(uint256)
# @dev When set, the hook reverts.
revert_on_hook: public(bool)


@external
def execute(target: address, data: Bytes[356]) -> Bytes[256]:
    """
    @notice Sends `data` to `target`, bubbling up a revert.
    """
    return raw_call(target, data, max_outsize=256)


@external
def arm(target: address, data: Bytes[356]):
    self.armed = True
    self.hook_target = target
    self.hook_data = data


@external
def set_revert_on_hook(enabled: bool):
    self.revert_on_hook = enabled


@external
def on_token_moved(sender: address, receiver: address, amount: uint256):
    assert not self.revert_on_hook, "hook_trader: refused"
    if self.armed:
        self.armed = False
        success: bool = False
        response: Bytes[32] = b""
        success, response = raw_call(self.hook_target, self.hook_data, max_outsize=32, revert_on_failure=False)
        self.reentry_succeeded = success
        self.reentries += 1
