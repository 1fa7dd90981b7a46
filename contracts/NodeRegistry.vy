# pragma version ~=0.4.3
"""
@title NodeRegistry
@notice The permissioned network: a set of authorities (the
        authentication service nodes) admits, revokes and changes
        members by a quorum of more than two thirds of them. A node
        is proposed with the hardware-report hash and the digest of
        the challenge it passed off chain.
@dev Proposals carry the authority epoch they were made in. Any
     change to the authority set starts a new epoch, so approvals
     gathered under the old set can never complete a proposal.
"""

# @dev The most authorities one constructor call accepts.
MAX_INITIAL_AUTHORITIES: constant(uint256) = 32

# @dev Proposal kinds.
KIND_ADMIT_NODE: public(constant(uint8)) = 1
KIND_REVOKE_NODE: public(constant(uint8)) = 2
KIND_ADD_AUTHORITY: public(constant(uint8)) = 3
KIND_REMOVE_AUTHORITY: public(constant(uint8)) = 4


struct Node:
    endpoint: String[256]
    hardware_hash: bytes32
    challenge_digest: bytes32
    admitted_at: uint64
    active: bool


struct Proposal:
    kind: uint8
    subject: address
    endpoint: String[256]
    hardware_hash: bytes32
    challenge_digest: bytes32
    reason: String[128]
    proposer: address
    epoch: uint256
    approvals: uint256
    executed: bool


# @dev Whether an address is an authority.
is_authority: public(HashMap[address, bool])
# @dev How many authorities there are.
authority_count: public(uint256)
# @dev Bumped on every change to the authority set.
authority_epoch: public(uint256)
# @dev Admitted (or formerly admitted) nodes.
nodes: public(HashMap[address, Node])
# @dev Proposals by id, starting at 1.
proposals: public(HashMap[uint256, Proposal])
# @dev The id of the last proposal.
proposal_count: public(uint256)
# @dev Which authority approved which proposal.
has_approved: public(HashMap[uint256, HashMap[address, bool]])


# @dev Emitted when an authority opens a proposal.
event ProposalCreated:
    proposal_id: indexed(uint256)
    subject: indexed(address)
    proposer: indexed(address)
    kind: uint8
    epoch: uint256


# @dev Emitted on every approval, the proposer's included.
event ProposalApproved:
    proposal_id: indexed(uint256)
    authority: indexed(address)
    approvals: uint256
    quorum: uint256


# @dev Emitted when a node reaches quorum and is admitted.
event NodeAdmitted:
    node: indexed(address)
    proposal_id: indexed(uint256)
    endpoint: String[256]
    hardware_hash: bytes32
    challenge_digest: bytes32


# @dev Emitted when a node is revoked by quorum.
event NodeRevoked:
    node: indexed(address)
    proposal_id: indexed(uint256)
    reason: String[128]


# @dev Emitted when an authority joins by quorum (or at deploy).
event AuthorityAdded:
    account: indexed(address)
    proposal_id: indexed(uint256)


# @dev Emitted when an authority leaves by quorum.
event AuthorityRemoved:
    account: indexed(address)
    proposal_id: indexed(uint256)


@deploy
def __init__(initial_authorities: DynArray[address, MAX_INITIAL_AUTHORITIES]):
    assert len(initial_authorities) != 0, "node_registry: no authorities"
    for account: address in initial_authorities:
        assert account != empty(address), "node_registry: zero address"
        assert not self.is_authority[account], "node_registry: duplicate authority"
        self.is_authority[account] = True
        log AuthorityAdded(account=account, proposal_id=0)
    self.authority_count = len(initial_authorities)


@external
@view
def quorum() -> uint256:
    """
    @notice Approvals needed: more than two thirds of the authorities.
    """
    return self._quorum()


@external
@view
def is_authorized(node: address) -> bool:
    """
    @notice True for an authority or an admitted, unrevoked node.
    """
    return self.is_authority[node] or self.nodes[node].active


@external
def propose_node(node: address, endpoint: String[256], hardware_hash: bytes32, challenge_digest: bytes32) -> uint256:
    """
    @notice Proposes to admit `node`, which passed the challenge whose
            digest is `challenge_digest` with the hardware report whose
            hash is `hardware_hash`. Counts as the proposer's approval.
    """
    assert node != empty(address), "node_registry: zero address"
    assert not self.nodes[node].active, "node_registry: node already admitted"
    assert len(endpoint) != 0, "node_registry: empty endpoint"
    assert hardware_hash != empty(bytes32), "node_registry: empty hardware hash"
    assert challenge_digest != empty(bytes32), "node_registry: empty challenge digest"
    return self._propose(KIND_ADMIT_NODE, node, endpoint, hardware_hash, challenge_digest, "")


@external
def propose_revocation(node: address, reason: String[128]) -> uint256:
    """
    @notice Proposes to revoke an admitted node.
    """
    assert self.nodes[node].active, "node_registry: node not admitted"
    assert len(reason) != 0, "node_registry: reason required"
    return self._propose(KIND_REVOKE_NODE, node, "", empty(bytes32), empty(bytes32), reason)


@external
def propose_authority(account: address, add: bool) -> uint256:
    """
    @notice Proposes to add (`add`) or remove an authority.
    """
    assert account != empty(address), "node_registry: zero address"
    if add:
        assert not self.is_authority[account], "node_registry: already an authority"
        return self._propose(KIND_ADD_AUTHORITY, account, "", empty(bytes32), empty(bytes32), "")
    assert self.is_authority[account], "node_registry: not an authority"
    assert self.authority_count > 1, "node_registry: cannot remove the last authority"
    return self._propose(KIND_REMOVE_AUTHORITY, account, "", empty(bytes32), empty(bytes32), "")


@external
def approve(proposal_id: uint256):
    """
    @notice Approves a proposal; the approval that reaches quorum
            carries it out.
    """
    self._approve(proposal_id, msg.sender)


@internal
@view
def _quorum() -> uint256:
    return self.authority_count * 2 // 3 + 1


@internal
def _propose(
    kind: uint8,
    subject: address,
    endpoint: String[256],
    hardware_hash: bytes32,
    challenge_digest: bytes32,
    reason: String[128],
) -> uint256:
    assert self.is_authority[msg.sender], "node_registry: caller is not an authority"
    proposal_id: uint256 = self.proposal_count + 1
    self.proposal_count = proposal_id
    self.proposals[proposal_id] = Proposal(
        kind=kind,
        subject=subject,
        endpoint=endpoint,
        hardware_hash=hardware_hash,
        challenge_digest=challenge_digest,
        reason=reason,
        proposer=msg.sender,
        epoch=self.authority_epoch,
        approvals=0,
        executed=False,
    )
    log ProposalCreated(proposal_id=proposal_id, subject=subject, proposer=msg.sender, kind=kind, epoch=self.authority_epoch)
    self._approve(proposal_id, msg.sender)
    return proposal_id


@internal
def _approve(proposal_id: uint256, authority: address):
    assert self.is_authority[authority], "node_registry: caller is not an authority"
    proposal: Proposal = self.proposals[proposal_id]
    assert proposal.kind != 0, "node_registry: unknown proposal"
    assert not proposal.executed, "node_registry: proposal already executed"
    assert proposal.epoch == self.authority_epoch, "node_registry: proposal is stale"
    assert not self.has_approved[proposal_id][authority], "node_registry: already approved"
    self.has_approved[proposal_id][authority] = True
    approvals: uint256 = proposal.approvals + 1
    self.proposals[proposal_id].approvals = approvals
    quorum: uint256 = self._quorum()
    log ProposalApproved(proposal_id=proposal_id, authority=authority, approvals=approvals, quorum=quorum)
    if approvals >= quorum:
        self.proposals[proposal_id].executed = True
        self._execute(proposal_id, proposal)


@internal
def _execute(proposal_id: uint256, proposal: Proposal):
    # State may have moved since the proposal was made (another
    # proposal for the same subject ran first): re-check it here.
    if proposal.kind == KIND_ADMIT_NODE:
        assert not self.nodes[proposal.subject].active, "node_registry: node already admitted"
        self.nodes[proposal.subject] = Node(
            endpoint=proposal.endpoint,
            hardware_hash=proposal.hardware_hash,
            challenge_digest=proposal.challenge_digest,
            admitted_at=convert(block.timestamp, uint64),
            active=True,
        )
        log NodeAdmitted(
            node=proposal.subject,
            proposal_id=proposal_id,
            endpoint=proposal.endpoint,
            hardware_hash=proposal.hardware_hash,
            challenge_digest=proposal.challenge_digest,
        )
    elif proposal.kind == KIND_REVOKE_NODE:
        assert self.nodes[proposal.subject].active, "node_registry: node not admitted"
        self.nodes[proposal.subject].active = False
        log NodeRevoked(node=proposal.subject, proposal_id=proposal_id, reason=proposal.reason)
    elif proposal.kind == KIND_ADD_AUTHORITY:
        assert not self.is_authority[proposal.subject], "node_registry: already an authority"
        self.is_authority[proposal.subject] = True
        self.authority_count += 1
        self.authority_epoch += 1
        log AuthorityAdded(account=proposal.subject, proposal_id=proposal_id)
    else:
        assert self.is_authority[proposal.subject], "node_registry: not an authority"
        assert self.authority_count > 1, "node_registry: cannot remove the last authority"
        self.is_authority[proposal.subject] = False
        self.authority_count -= 1
        self.authority_epoch += 1
        log AuthorityRemoved(account=proposal.subject, proposal_id=proposal_id)
