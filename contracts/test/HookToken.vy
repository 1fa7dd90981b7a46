# pragma version ~=0.4.3
"""
@title HookToken
@notice An ERC-777-style token for tests only: after each balance move
        it calls `on_token_moved` on the sender and the receiver when
        they registered for it, so they can re-enter whoever moved the
        tokens. Anyone may mint.
"""

# @dev What a registered account implements.
interface ITokenHook:
    def on_token_moved(sender: address, receiver: address, amount: uint256): nonpayable


# @dev 18 decimals.
decimals: public(constant(uint8)) = 18

# @dev Accounts called on each move to or from them.
hooked: public(HashMap[address, bool])

# @dev Balances by owner.
balanceOf: public(HashMap[address, uint256])
# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])
# @dev Total minted.
totalSupply: public(uint256)


# @dev Emitted on every balance move.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


# @dev Emitted when an allowance is set.
event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@external
@view
def name() -> String[32]:
    return "Hook Token"


@external
@view
def symbol() -> String[8]:
    return "HOOK"


@external
def register_hook(enabled: bool):
    """
    @notice The caller is (or stops being) called on every move.
    """
    self.hooked[msg.sender] = enabled


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    assert allowed >= amount, "hook_token: allowance exceeded"
    if allowed != max_value(uint256):
        self.allowance[owner][msg.sender] = allowed - amount
    self._move(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    assert self.balanceOf[owner] >= amount, "hook_token: balance exceeded"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)
    if self.hooked[owner]:
        extcall ITokenHook(owner).on_token_moved(owner, to, amount)
    if self.hooked[to]:
        extcall ITokenHook(to).on_token_moved(owner, to, amount)
