"""NodeRegistry: authorities admit, revoke and change members by a quorum of more than two thirds."""

import ape
import pytest
from eth_utils import keccak

ZERO_ADDRESS = "0x" + "00" * 20
EMPTY = b"\x00" * 32
ENDPOINT = "https://node-7.sentinel.example:8443"
HW = keccak(text="hardware report of node-7")
CHALLENGE = keccak(text="challenge passed by node-7")

KIND_ADMIT_NODE = 1
KIND_REVOKE_NODE = 2
KIND_ADD_AUTHORITY = 3
KIND_REMOVE_AUTHORITY = 4

NOT_AUTHORITY = "node_registry: caller is not an authority"


@pytest.fixture
def authorities(accounts):
    """Five distinct accounts to act as authorities (none is a test role that holds tokens)."""
    return [accounts[0], accounts[1], accounts[2], accounts[8], accounts[9]]


@pytest.fixture
def candidate(accounts):
    """A machine that wants to join the network."""
    return accounts[6]


@pytest.fixture
def registry3(project, admin, authorities):
    """A fresh registry run by three authorities (quorum 3)."""
    return admin.deploy(project.NodeRegistry, authorities[:3])


@pytest.fixture
def registry4(project, admin, authorities):
    """A fresh registry run by four authorities (quorum 3)."""
    return admin.deploy(project.NodeRegistry, authorities[:4])


def proposal_id_of(registry, tx):
    return tx.decode_logs(registry.ProposalCreated)[0].proposal_id


def propose_node(registry, proposer, subject, endpoint=ENDPOINT, hw=HW, challenge=CHALLENGE):
    tx = registry.propose_node(subject, endpoint, hw, challenge, sender=proposer)
    return proposal_id_of(registry, tx), tx


def admit(registry, approvers, subject):
    """Proposes `subject` with approvers[0] and approves with the rest; returns the proposal id."""
    pid, _ = propose_node(registry, approvers[0], subject)
    for authority in approvers[1:]:
        registry.approve(pid, sender=authority)
    assert registry.nodes(subject).active
    return pid


def pass_authority_change(registry, approvers, account, add):
    tx = registry.propose_authority(account, add, sender=approvers[0])
    pid = proposal_id_of(registry, tx)
    last = tx
    for authority in approvers[1:]:
        last = registry.approve(pid, sender=authority)
    return pid, last


# ---------------------------------------------------------- constructor


def test_constructor__authorities(project, admin, authorities):
    registry = admin.deploy(project.NodeRegistry, authorities[:3])
    for account in authorities[:3]:
        assert registry.is_authority(account)
    assert not registry.is_authority(authorities[3])
    assert registry.authority_count() == 3
    assert registry.authority_epoch() == 0
    assert registry.proposal_count() == 0
    assert registry.KIND_ADMIT_NODE() == KIND_ADMIT_NODE
    assert registry.KIND_REVOKE_NODE() == KIND_REVOKE_NODE
    assert registry.KIND_ADD_AUTHORITY() == KIND_ADD_AUTHORITY
    assert registry.KIND_REMOVE_AUTHORITY() == KIND_REMOVE_AUTHORITY


def test_constructor__logs_authorities(project, admin, authorities, chain):
    registry = admin.deploy(project.NodeRegistry, authorities[:3])
    receipt = chain.get_receipt(registry.txn_hash)
    assert receipt.decode_logs(registry.AuthorityAdded) == [
        registry.AuthorityAdded(account=account, proposal_id=0) for account in authorities[:3]
    ]


def test_constructor__no_authorities(project, admin):
    with ape.reverts("node_registry: no authorities"):
        admin.deploy(project.NodeRegistry, [])


def test_constructor__zero_address(project, admin, authorities):
    with ape.reverts("node_registry: zero address"):
        admin.deploy(project.NodeRegistry, [authorities[0], ZERO_ADDRESS])


def test_constructor__duplicate_authority(project, admin, authorities):
    with ape.reverts("node_registry: duplicate authority"):
        admin.deploy(project.NodeRegistry, [authorities[0], authorities[1], authorities[0]])


def test_constructor__fixture_admits_node(node_registry, admin, node):
    """The shared fixture: `admin` is the only authority and `node` is admitted."""
    assert node_registry.is_authority(admin)
    assert node_registry.authority_count() == 1
    assert node_registry.quorum() == 1
    assert node_registry.nodes(node).active
    assert node_registry.proposals(1).executed


# --------------------------------------------------------------- quorum


@pytest.mark.parametrize("count, expected", [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4)])
def test_quorum__more_than_two_thirds(project, admin, authorities, count, expected):
    registry = admin.deploy(project.NodeRegistry, authorities[:count])
    assert registry.quorum() == expected
    assert registry.quorum() == count * 2 // 3 + 1
    # More than two thirds, and the smallest such number.
    assert 3 * expected > 2 * count
    assert 3 * (expected - 1) <= 2 * count


def test_quorum__six_authorities(project, admin, accounts):
    registry = admin.deploy(project.NodeRegistry, [accounts[i] for i in (0, 1, 2, 6, 8, 9)])
    assert registry.quorum() == 5


def test_quorum__follows_authority_count(registry3, authorities):
    assert registry3.quorum() == 3
    pass_authority_change(registry3, authorities[:3], authorities[3], True)
    assert registry3.authority_count() == 4
    assert registry3.quorum() == 3
    pass_authority_change(registry3, authorities[:3], authorities[4], True)
    assert registry3.quorum() == 4


# --------------------------------------------------------- propose_node


def test_propose_node__creates_proposal(registry3, authorities, candidate):
    a = authorities[0]
    pid, tx = propose_node(registry3, a, candidate)
    assert pid == 1
    assert registry3.proposal_count() == 1
    assert tx.events == [
        registry3.ProposalCreated(proposal_id=1, subject=candidate, proposer=a, kind=KIND_ADMIT_NODE, epoch=0),
        registry3.ProposalApproved(proposal_id=1, authority=a, approvals=1, quorum=3),
    ]
    proposal = registry3.proposals(1)
    assert proposal.kind == KIND_ADMIT_NODE
    assert proposal.subject == candidate
    assert proposal.endpoint == ENDPOINT
    assert proposal.hardware_hash == HW
    assert proposal.challenge_digest == CHALLENGE
    assert proposal.reason == ""
    assert proposal.proposer == a
    assert proposal.epoch == 0
    assert proposal.approvals == 1
    assert proposal.executed is False
    assert registry3.has_approved(1, a)
    assert not registry3.has_approved(1, authorities[1])
    assert not registry3.nodes(candidate).active
    assert not registry3.is_authorized(candidate)


def test_propose_node__admitted_at_quorum(registry3, authorities, candidate, chain):
    a, b, c = authorities[:3]
    pid, _ = propose_node(registry3, a, candidate)

    tx = registry3.approve(pid, sender=b)
    assert tx.events == [registry3.ProposalApproved(proposal_id=pid, authority=b, approvals=2, quorum=3)]
    assert not registry3.nodes(candidate).active
    assert not registry3.proposals(pid).executed

    tx = registry3.approve(pid, sender=c)
    assert tx.events == [
        registry3.ProposalApproved(proposal_id=pid, authority=c, approvals=3, quorum=3),
        registry3.NodeAdmitted(
            node=candidate, proposal_id=pid, endpoint=ENDPOINT, hardware_hash=HW, challenge_digest=CHALLENGE
        ),
    ]
    record = registry3.nodes(candidate)
    assert record.active is True
    assert record.endpoint == ENDPOINT
    assert record.hardware_hash == HW
    assert record.challenge_digest == CHALLENGE
    assert record.admitted_at == tx.timestamp
    assert registry3.proposals(pid).executed is True
    assert registry3.proposals(pid).approvals == 3
    assert registry3.is_authorized(candidate)


def test_propose_node__single_authority_admits_at_once(node_registry, admin, candidate):
    pid, tx = propose_node(node_registry, admin, candidate)
    assert (
        node_registry.NodeAdmitted(
            node=candidate, proposal_id=pid, endpoint=ENDPOINT, hardware_hash=HW, challenge_digest=CHALLENGE
        )
        in tx.events
    )
    assert node_registry.nodes(candidate).active


def test_propose_node__four_authorities_need_three(registry4, authorities, candidate):
    a, b, c, d = authorities[:4]
    pid, _ = propose_node(registry4, a, candidate)
    registry4.approve(pid, sender=d)
    assert not registry4.nodes(candidate).active
    tx = registry4.approve(pid, sender=b)
    assert len(tx.decode_logs(registry4.NodeAdmitted)) == 1
    assert registry4.nodes(candidate).active
    # The fourth approval comes too late.
    with ape.reverts("node_registry: proposal already executed"):
        registry4.approve(pid, sender=c)


def test_propose_node__only_authority(registry3, candidate, other, node):
    for caller in (candidate, other):
        with ape.reverts(NOT_AUTHORITY):
            registry3.propose_node(caller, ENDPOINT, HW, CHALLENGE, sender=caller)
    assert registry3.proposal_count() == 0


def test_propose_node__admitted_node_cannot_propose(node_registry, node, other):
    # An admitted node may relay but is no authority.
    assert node_registry.is_authorized(node)
    with ape.reverts(NOT_AUTHORITY):
        node_registry.propose_node(other, ENDPOINT, HW, CHALLENGE, sender=node)


def test_propose_node__zero_address(registry3, authorities):
    with ape.reverts("node_registry: zero address"):
        registry3.propose_node(ZERO_ADDRESS, ENDPOINT, HW, CHALLENGE, sender=authorities[0])


def test_propose_node__already_admitted(node_registry, admin, node):
    with ape.reverts("node_registry: node already admitted"):
        node_registry.propose_node(node, ENDPOINT, HW, CHALLENGE, sender=admin)


def test_propose_node__empty_endpoint(registry3, authorities, candidate):
    with ape.reverts("node_registry: empty endpoint"):
        registry3.propose_node(candidate, "", HW, CHALLENGE, sender=authorities[0])


def test_propose_node__empty_hardware_hash(registry3, authorities, candidate):
    with ape.reverts("node_registry: empty hardware hash"):
        registry3.propose_node(candidate, ENDPOINT, EMPTY, CHALLENGE, sender=authorities[0])


def test_propose_node__empty_challenge_digest(registry3, authorities, candidate):
    with ape.reverts("node_registry: empty challenge digest"):
        registry3.propose_node(candidate, ENDPOINT, HW, EMPTY, sender=authorities[0])


def test_propose_node__competing_proposals(registry3, authorities, candidate):
    """Two open proposals for the same node: the second cannot admit it again."""
    a, b, c = authorities[:3]
    first, _ = propose_node(registry3, a, candidate)
    second, _ = propose_node(registry3, b, candidate, endpoint="https://elsewhere:1")
    registry3.approve(first, sender=b)
    registry3.approve(first, sender=c)
    assert registry3.nodes(candidate).endpoint == ENDPOINT
    registry3.approve(second, sender=a)
    with ape.reverts("node_registry: node already admitted"):
        registry3.approve(second, sender=c)
    assert registry3.nodes(candidate).endpoint == ENDPOINT
    assert not registry3.proposals(second).executed


# -------------------------------------------------------------- approve


def test_approve__only_authority(registry3, authorities, candidate, other):
    pid, _ = propose_node(registry3, authorities[0], candidate)
    for caller in (other, candidate):
        with ape.reverts(NOT_AUTHORITY):
            registry3.approve(pid, sender=caller)
    assert registry3.proposals(pid).approvals == 1


def test_approve__double_approval(registry3, authorities, candidate):
    a, b = authorities[:2]
    pid, _ = propose_node(registry3, a, candidate)
    # The proposal already counts as the proposer's approval.
    with ape.reverts("node_registry: already approved"):
        registry3.approve(pid, sender=a)
    registry3.approve(pid, sender=b)
    with ape.reverts("node_registry: already approved"):
        registry3.approve(pid, sender=b)
    assert registry3.proposals(pid).approvals == 2
    assert not registry3.nodes(candidate).active


@pytest.mark.parametrize("pid", [0, 1, 2, 2**256 - 1])
def test_approve__unknown_proposal(registry3, authorities, pid):
    with ape.reverts("node_registry: unknown proposal"):
        registry3.approve(pid, sender=authorities[0])


def test_approve__unknown_proposal_after_existing(registry3, authorities, candidate):
    pid, _ = propose_node(registry3, authorities[0], candidate)
    with ape.reverts("node_registry: unknown proposal"):
        registry3.approve(pid + 1, sender=authorities[1])


def test_approve__executed_proposal(node_registry, admin):
    # Proposal 1 (the fixture's node) executed at once with one authority.
    with ape.reverts("node_registry: proposal already executed"):
        node_registry.approve(1, sender=admin)


def test_approve__executed_proposal_with_fresh_authority(registry3, authorities, candidate):
    a, b, c = authorities[:3]
    pid = admit(registry3, [a, b, c], candidate)
    with ape.reverts("node_registry: proposal already executed"):
        registry3.approve(pid, sender=a)


# ----------------------------------------------------------- revocation


def test_revocation__by_quorum(registry3, authorities, candidate):
    a, b, c = authorities[:3]
    admit(registry3, [a, b, c], candidate)
    tx = registry3.propose_revocation(candidate, "failed re-attestation", sender=b)
    pid = proposal_id_of(registry3, tx)
    assert tx.events == [
        registry3.ProposalCreated(proposal_id=pid, subject=candidate, proposer=b, kind=KIND_REVOKE_NODE, epoch=0),
        registry3.ProposalApproved(proposal_id=pid, authority=b, approvals=1, quorum=3),
    ]
    assert registry3.proposals(pid).reason == "failed re-attestation"
    registry3.approve(pid, sender=a)
    assert registry3.nodes(candidate).active
    assert registry3.is_authorized(candidate)

    tx = registry3.approve(pid, sender=c)
    assert tx.events == [
        registry3.ProposalApproved(proposal_id=pid, authority=c, approvals=3, quorum=3),
        registry3.NodeRevoked(node=candidate, proposal_id=pid, reason="failed re-attestation"),
    ]
    record = registry3.nodes(candidate)
    assert record.active is False
    # The admission record is kept.
    assert record.endpoint == ENDPOINT
    assert record.hardware_hash == HW
    assert not registry3.is_authorized(candidate)


def test_revocation__single_authority(node_registry, admin, node):
    tx = node_registry.propose_revocation(node, "compromised", sender=admin)
    assert node_registry.NodeRevoked(node=node, proposal_id=2, reason="compromised") in tx.events
    assert not node_registry.is_authorized(node)


def test_revocation__only_authority(node_registry, node, other):
    for caller in (node, other):
        with ape.reverts(NOT_AUTHORITY):
            node_registry.propose_revocation(node, "I say so", sender=caller)
    assert node_registry.nodes(node).active


def test_revocation__node_not_admitted(registry3, authorities, candidate):
    with ape.reverts("node_registry: node not admitted"):
        registry3.propose_revocation(candidate, "never admitted", sender=authorities[0])


def test_revocation__reason_required(node_registry, admin, node):
    with ape.reverts("node_registry: reason required"):
        node_registry.propose_revocation(node, "", sender=admin)


def test_revocation__already_revoked(node_registry, admin, node):
    node_registry.propose_revocation(node, "compromised", sender=admin)
    with ape.reverts("node_registry: node not admitted"):
        node_registry.propose_revocation(node, "again", sender=admin)


def test_revocation__competing_proposals(registry3, authorities, candidate):
    a, b, c = authorities[:3]
    admit(registry3, [a, b, c], candidate)
    first = proposal_id_of(registry3, registry3.propose_revocation(candidate, "one", sender=a))
    second = proposal_id_of(registry3, registry3.propose_revocation(candidate, "two", sender=b))
    registry3.approve(first, sender=b)
    registry3.approve(first, sender=c)
    registry3.approve(second, sender=a)
    with ape.reverts("node_registry: node not admitted"):
        registry3.approve(second, sender=c)


def test_revocation__readmission(node_registry, admin, node):
    node_registry.propose_revocation(node, "compromised", sender=admin)
    new_hw = keccak(text="new hardware")
    tx = node_registry.propose_node(node, "http://node-1b:8000", new_hw, CHALLENGE, sender=admin)
    assert (
        node_registry.NodeAdmitted(
            node=node, proposal_id=3, endpoint="http://node-1b:8000", hardware_hash=new_hw, challenge_digest=CHALLENGE
        )
        in tx.events
    )
    assert node_registry.is_authorized(node)
    assert node_registry.nodes(node).hardware_hash == new_hw


# ---------------------------------------------------------- authorities


def test_add_authority__by_quorum(registry3, authorities):
    a, b, c, d = authorities[:4]
    tx = registry3.propose_authority(d, True, sender=a)
    pid = proposal_id_of(registry3, tx)
    assert tx.events == [
        registry3.ProposalCreated(proposal_id=pid, subject=d, proposer=a, kind=KIND_ADD_AUTHORITY, epoch=0),
        registry3.ProposalApproved(proposal_id=pid, authority=a, approvals=1, quorum=3),
    ]
    registry3.approve(pid, sender=b)
    assert not registry3.is_authority(d)
    tx = registry3.approve(pid, sender=c)
    assert tx.events == [
        registry3.ProposalApproved(proposal_id=pid, authority=c, approvals=3, quorum=3),
        registry3.AuthorityAdded(account=d, proposal_id=pid),
    ]
    assert registry3.is_authority(d)
    assert registry3.is_authorized(d)
    assert registry3.authority_count() == 4
    assert registry3.authority_epoch() == 1
    assert registry3.quorum() == 3


def test_add_authority__new_authority_may_act(registry3, authorities, candidate):
    a, b, c, d = authorities[:4]
    pass_authority_change(registry3, [a, b, c], d, True)
    pid, tx = propose_node(registry3, d, candidate)
    assert (
        registry3.ProposalCreated(proposal_id=pid, subject=candidate, proposer=d, kind=KIND_ADMIT_NODE, epoch=1)
        in tx.events
    )
    registry3.approve(pid, sender=a)
    registry3.approve(pid, sender=b)
    assert registry3.nodes(candidate).active


def test_add_authority__already_an_authority(registry3, authorities):
    with ape.reverts("node_registry: already an authority"):
        registry3.propose_authority(authorities[1], True, sender=authorities[0])


def test_add_authority__zero_address(registry3, authorities):
    with ape.reverts("node_registry: zero address"):
        registry3.propose_authority(ZERO_ADDRESS, True, sender=authorities[0])
    with ape.reverts("node_registry: zero address"):
        registry3.propose_authority(ZERO_ADDRESS, False, sender=authorities[0])


def test_add_authority__only_authority(registry3, authorities, other):
    with ape.reverts(NOT_AUTHORITY):
        registry3.propose_authority(other, True, sender=other)
    with ape.reverts(NOT_AUTHORITY):
        registry3.propose_authority(authorities[0], False, sender=other)


def test_add_authority__competing_proposals(registry3, authorities):
    """Once one proposal adds the account, the epoch moved: the other is stale."""
    a, b, c, d = authorities[:4]
    first = proposal_id_of(registry3, registry3.propose_authority(d, True, sender=a))
    second = proposal_id_of(registry3, registry3.propose_authority(d, True, sender=b))
    registry3.approve(first, sender=b)
    registry3.approve(first, sender=c)
    with ape.reverts("node_registry: proposal is stale"):
        registry3.approve(second, sender=a)


def test_remove_authority__by_quorum(registry4, authorities):
    a, b, c, d = authorities[:4]
    tx = registry4.propose_authority(d, False, sender=a)
    pid = proposal_id_of(registry4, tx)
    assert tx.events == [
        registry4.ProposalCreated(proposal_id=pid, subject=d, proposer=a, kind=KIND_REMOVE_AUTHORITY, epoch=0),
        registry4.ProposalApproved(proposal_id=pid, authority=a, approvals=1, quorum=3),
    ]
    registry4.approve(pid, sender=b)
    tx = registry4.approve(pid, sender=c)
    assert tx.events == [
        registry4.ProposalApproved(proposal_id=pid, authority=c, approvals=3, quorum=3),
        registry4.AuthorityRemoved(account=d, proposal_id=pid),
    ]
    assert not registry4.is_authority(d)
    assert not registry4.is_authorized(d)
    assert registry4.authority_count() == 3
    assert registry4.authority_epoch() == 1
    with ape.reverts(NOT_AUTHORITY):
        registry4.propose_node(d, ENDPOINT, HW, CHALLENGE, sender=d)


def test_remove_authority__subject_may_vote_for_own_removal(registry3, authorities):
    a, b, c = authorities[:3]
    pid, tx = pass_authority_change(registry3, [c, a, b], c, False)
    assert registry3.AuthorityRemoved(account=c, proposal_id=pid) in tx.events
    assert registry3.authority_count() == 2
    assert registry3.quorum() == 2


def test_remove_authority__not_an_authority(registry3, authorities, other):
    with ape.reverts("node_registry: not an authority"):
        registry3.propose_authority(other, False, sender=authorities[0])


def test_remove_authority__last_authority(node_registry, admin):
    with ape.reverts("node_registry: cannot remove the last authority"):
        node_registry.propose_authority(admin, False, sender=admin)
    assert node_registry.is_authority(admin)


def test_remove_authority__down_to_one(project, admin, authorities):
    a, b = authorities[:2]
    registry = admin.deploy(project.NodeRegistry, [a, b])
    pid, tx = pass_authority_change(registry, [a, b], b, False)
    assert registry.AuthorityRemoved(account=b, proposal_id=pid) in tx.events
    assert registry.authority_count() == 1
    assert registry.quorum() == 1
    with ape.reverts("node_registry: cannot remove the last authority"):
        registry.propose_authority(a, False, sender=a)


def test_remove_authority__competing_proposals(registry3, authorities):
    a, b, c = authorities[:3]
    first = proposal_id_of(registry3, registry3.propose_authority(c, False, sender=a))
    second = proposal_id_of(registry3, registry3.propose_authority(b, False, sender=a))
    registry3.approve(first, sender=b)
    registry3.approve(first, sender=c)
    assert registry3.authority_count() == 2
    with ape.reverts("node_registry: proposal is stale"):
        registry3.approve(second, sender=b)
    assert registry3.is_authority(b)


# ---------------------------------------------------------------- stale


def test_stale__admission_after_authority_added(registry3, authorities, candidate):
    a, b, c, d = authorities[:4]
    pid, _ = propose_node(registry3, a, candidate)
    registry3.approve(pid, sender=b)
    pass_authority_change(registry3, [a, b, c], d, True)
    for authority in (c, d):
        with ape.reverts("node_registry: proposal is stale"):
            registry3.approve(pid, sender=authority)
    assert not registry3.nodes(candidate).active
    assert registry3.proposals(pid).approvals == 2
    # A fresh proposal in the new epoch works.
    pid2, tx = propose_node(registry3, d, candidate)
    assert registry3.proposals(pid2).epoch == 1
    registry3.approve(pid2, sender=a)
    tx = registry3.approve(pid2, sender=c)
    assert (
        registry3.NodeAdmitted(
            node=candidate, proposal_id=pid2, endpoint=ENDPOINT, hardware_hash=HW, challenge_digest=CHALLENGE
        )
        in tx.events
    )


def test_stale__revocation_after_authority_removed(registry4, authorities, candidate):
    a, b, c, d = authorities[:4]
    admit(registry4, [a, b, c], candidate)
    pid = proposal_id_of(registry4, registry4.propose_revocation(candidate, "rogue", sender=a))
    pass_authority_change(registry4, [b, c, d], d, False)
    # Approvals from the old epoch can never complete it under the new set.
    assert registry4.authority_count() == 3
    with ape.reverts("node_registry: proposal is stale"):
        registry4.approve(pid, sender=b)
    assert registry4.nodes(candidate).active


def test_stale__authority_proposal_after_change(registry4, authorities, accounts):
    a, b, c, d = authorities[:4]
    newcomer = accounts[6]
    pid = proposal_id_of(registry4, registry4.propose_authority(newcomer, True, sender=a))
    pass_authority_change(registry4, [b, c, d], d, False)
    with ape.reverts("node_registry: proposal is stale"):
        registry4.approve(pid, sender=b)
    assert not registry4.is_authority(newcomer)


def test_stale__removed_authority_cannot_approve(registry4, authorities, candidate):
    a, b, c, d = authorities[:4]
    pass_authority_change(registry4, [a, b, c], d, False)
    pid, _ = propose_node(registry4, a, candidate)
    with ape.reverts(NOT_AUTHORITY):
        registry4.approve(pid, sender=d)


# -------------------------------------------------------- is_authorized


def test_is_authorized__authority(node_registry, admin):
    assert node_registry.is_authorized(admin)


def test_is_authorized__admitted_node(node_registry, node):
    assert node_registry.is_authorized(node)
    assert not node_registry.is_authority(node)


def test_is_authorized__revoked_node(node_registry, admin, node):
    node_registry.propose_revocation(node, "compromised", sender=admin)
    assert not node_registry.is_authorized(node)


def test_is_authorized__stranger(node_registry, other, seller, buyer):
    for account in (other, seller, buyer, ZERO_ADDRESS):
        assert not node_registry.is_authorized(account)


def test_is_authorized__proposed_but_not_admitted(registry3, authorities, candidate):
    propose_node(registry3, authorities[0], candidate)
    assert not registry3.is_authorized(candidate)


def test_is_authorized__removed_authority(registry4, authorities):
    a, b, c, d = authorities[:4]
    assert registry4.is_authorized(d)
    pass_authority_change(registry4, [a, b, c], d, False)
    assert not registry4.is_authorized(d)
