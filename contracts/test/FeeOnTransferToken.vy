# pragma version ~=0.4.3
"""
@title FeeOnTransferToken
@notice An ERC-20 that burns 1% of every transfer, for tests only.
        The escrow must refuse it rather than lose track of balances.
"""

from ethereum.ercs import IERC20
implements: IERC20

name: public(constant(String[16])) = "Fee Token"
symbol: public(constant(String[8])) = "FEE"
decimals: public(constant(uint8)) = 18
# @dev The share of each transfer that is burned, in basis points.
FEE_BPS: public(constant(uint256)) = 100

# @dev Balances by owner.
balanceOf: public(HashMap[address, uint256])
# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])
# @dev Total supply, less what transfers burned.
totalSupply: public(uint256)


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    assert allowed >= amount, "fee_token: allowance exceeded"
    self.allowance[owner][msg.sender] = allowed - amount
    self._move(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    assert self.balanceOf[owner] >= amount, "fee_token: balance exceeded"
    fee: uint256 = amount * FEE_BPS // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log IERC20.Transfer(sender=owner, receiver=to, value=amount - fee)
