# pragma version ~=0.4.3
"""
@title NoReturnToken
@notice A USDT-style token whose `transfer`, `transferFrom` and
        `approve` return nothing, for tests only. Anyone may mint.
"""

name: public(String[32])
symbol: public(String[8])
# @dev USDT uses 6 decimals.
decimals: public(constant(uint8)) = 6

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


@deploy
def __init__():
    self.name = "Tether-like USD"
    self.symbol = "USDT0"


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256):
    self._move(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    allowed: uint256 = self.allowance[owner][msg.sender]
    assert allowed >= amount, "no_return_token: allowance exceeded"
    self.allowance[owner][msg.sender] = allowed - amount
    self._move(owner, to, amount)


@external
def approve(spender: address, amount: uint256):
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)


@internal
def _move(owner: address, to: address, amount: uint256):
    assert self.balanceOf[owner] >= amount, "no_return_token: balance exceeded"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)
