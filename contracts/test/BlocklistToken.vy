# pragma version ~=0.4.3
"""
@title BlocklistToken
@notice A USDC-style token for tests only: its owner can blocklist an
        account (no transfer to or from it) and pause every transfer.
        Refusals revert, or, with `refuse_with_false`, return `false`
        as some older tokens do. Anyone may mint.
"""

# @dev 6 decimals, like USDC.
decimals: public(constant(uint8)) = 6

# @dev Who may blocklist and pause.
owner: public(address)
# @dev Accounts that may neither send nor receive.
blocked: public(HashMap[address, bool])
# @dev When set, every transfer is refused.
paused: public(bool)
# @dev When set, refusals return `false` instead of reverting.
refuse_with_false: public(bool)

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


# @dev Emitted when an account is blocklisted or cleared.
event BlockedChanged:
    account: indexed(address)
    blocked: bool


@deploy
def __init__():
    self.owner = msg.sender


@external
@view
def name() -> String[32]:
    return "Blocklist USD"


@external
@view
def symbol() -> String[8]:
    return "BUSD"


@external
def set_blocked(account: address, blocked: bool):
    assert msg.sender == self.owner, "blocklist_token: caller is not the owner"
    self.blocked[account] = blocked
    log BlockedChanged(account=account, blocked=blocked)


@external
def set_paused(paused: bool):
    assert msg.sender == self.owner, "blocklist_token: caller is not the owner"
    self.paused = paused


@external
def set_refuse_with_false(refuse_with_false: bool):
    assert msg.sender == self.owner, "blocklist_token: caller is not the owner"
    self.refuse_with_false = refuse_with_false


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    return self._move(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    assert allowed >= amount, "blocklist_token: allowance exceeded"
    if not self._move(owner, to, amount):
        return False
    if allowed != max_value(uint256):
        self.allowance[owner][msg.sender] = allowed - amount
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256) -> bool:
    refused: bool = self.paused or self.blocked[owner] or self.blocked[to]
    if refused:
        assert self.refuse_with_false, "blocklist_token: transfer refused"
        return False
    assert self.balanceOf[owner] >= amount, "blocklist_token: balance exceeded"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)
    return True
