# pragma version ~=0.4.3
"""
@title TestStablecoin
@notice A 6-decimals stablecoin with EIP-2612 permit and a faucet,
        for the local chain and the tests only.
"""

from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


# @dev The most one faucet call mints (10,000 tokens).
FAUCET_LIMIT: public(constant(uint256)) = 10_000 * 10**6


@deploy
def __init__(name_: String[25], symbol_: String[5]):
    ownable.__init__()
    erc20.__init__(name_, symbol_, 6, name_, "1")


@external
def faucet(amount: uint256):
    """
    @notice Mints up to `FAUCET_LIMIT` to the caller.
    """
    assert amount <= FAUCET_LIMIT, "test_stablecoin: faucet limit exceeded"
    erc20._mint(msg.sender, amount)
