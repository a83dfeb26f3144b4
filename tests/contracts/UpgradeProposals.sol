// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title UpgradeProposals
/// @notice The reference upgrade-proposal contract of wemixvisor
/// (docs/governance.md). Voters propose a node-binary upgrade — a name, an
/// activation height, and an info JSON with binaries and checksums (the
/// `info` of a cosmovisor upgrade-info.json) — and vote yes, no or abstain
/// until the voting end height.
///
/// A proposal is Approved as soon as yes votes are a majority of all voters
/// (yes*2 > voters), and Rejected as soon as that can no longer happen
/// ((no+abstain)*2 >= voters) or when `finalize` is called after the voting
/// end height without a majority. The proposer or the admin may cancel it
/// while it is open. Approved is final.
///
/// wemixvisor reads `proposalCount()` and `getProposal(id)` and queues every
/// Approved proposal whose height is still ahead of the chain.
contract UpgradeProposals {
    enum Status { None, Voting, Approved, Rejected, Canceled }
    enum Choice { None, Yes, No, Abstain }

    struct Proposal {
        string name;
        uint64 height;
        string info;
        Status status;
        uint64 yes;
        uint64 no;
        uint64 abstain;
        uint64 votingEndHeight;
        address proposer;
    }

    address public admin;
    address[] private _voters;
    mapping(address => bool) public isVoter;
    Proposal[] private _proposals;
    mapping(uint256 => mapping(address => Choice)) public choiceOf;

    event VoterAdded(address indexed voter);
    event VoterRemoved(address indexed voter);
    event UpgradeProposed(uint256 indexed id, string name, uint64 height, uint64 votingEndHeight, address proposer);
    event UpgradeVoted(uint256 indexed id, address indexed voter, uint8 choice);
    event UpgradeApproved(uint256 indexed id, string name, uint64 height);
    event UpgradeRejected(uint256 indexed id);
    event UpgradeCanceled(uint256 indexed id);

    modifier onlyAdmin() {
        require(msg.sender == admin, "not the admin");
        _;
    }

    modifier onlyVoter() {
        require(isVoter[msg.sender], "not a voter");
        _;
    }

    constructor(address[] memory voters_) {
        admin = msg.sender;
        for (uint256 i = 0; i < voters_.length; i++) {
            _addVoter(voters_[i]);
        }
    }

    // ---- voters ----

    function addVoter(address voter) external onlyAdmin {
        _addVoter(voter);
    }

    function removeVoter(address voter) external onlyAdmin {
        require(isVoter[voter], "not a voter");
        isVoter[voter] = false;
        for (uint256 i = 0; i < _voters.length; i++) {
            if (_voters[i] == voter) {
                _voters[i] = _voters[_voters.length - 1];
                _voters.pop();
                break;
            }
        }
        emit VoterRemoved(voter);
    }

    function voters() external view returns (address[] memory) {
        return _voters;
    }

    function voterCount() external view returns (uint256) {
        return _voters.length;
    }

    // ---- proposals ----

    /// Opens a proposal; returns its id (ids count from 0).
    function propose(string calldata name, uint64 height, string calldata info, uint64 votingEndHeight)
        external
        onlyVoter
        returns (uint256 id)
    {
        require(bytes(name).length > 0, "empty name");
        require(votingEndHeight > block.number, "voting must end after this block");
        require(height > votingEndHeight, "activation must come after the vote");
        id = _proposals.length;
        _proposals.push(Proposal(name, height, info, Status.Voting, 0, 0, 0, votingEndHeight, msg.sender));
        emit UpgradeProposed(id, name, height, votingEndHeight, msg.sender);
    }

    /// Votes on an open proposal: 1 yes, 2 no, 3 abstain.
    function vote(uint256 id, uint8 choice) external onlyVoter {
        Proposal storage p = _open(id);
        require(block.number <= p.votingEndHeight, "voting has ended");
        require(choice >= 1 && choice <= 3, "choice is 1 (yes), 2 (no) or 3 (abstain)");
        require(choiceOf[id][msg.sender] == Choice.None, "already voted");
        choiceOf[id][msg.sender] = Choice(choice);
        if (choice == 1) {
            p.yes++;
        } else if (choice == 2) {
            p.no++;
        } else {
            p.abstain++;
        }
        emit UpgradeVoted(id, msg.sender, choice);
        uint256 n = _voters.length;
        if (uint256(p.yes) * 2 > n) {
            _approve(id, p);
        } else if ((uint256(p.no) + uint256(p.abstain)) * 2 >= n) {
            _reject(id, p);
        }
    }

    /// Settles a proposal whose voting window has ended.
    function finalize(uint256 id) external {
        Proposal storage p = _open(id);
        require(block.number > p.votingEndHeight, "voting is still open");
        if (uint256(p.yes) * 2 > _voters.length) {
            _approve(id, p);
        } else {
            _reject(id, p);
        }
    }

    /// Withdraws an open proposal (its proposer or the admin).
    function cancel(uint256 id) external {
        Proposal storage p = _open(id);
        require(msg.sender == p.proposer || msg.sender == admin, "only the proposer or the admin");
        p.status = Status.Canceled;
        emit UpgradeCanceled(id);
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function getProposal(uint256 id) external view returns (Proposal memory) {
        require(id < _proposals.length, "no such proposal");
        return _proposals[id];
    }

    // ---- internals ----

    function _addVoter(address voter) private {
        require(voter != address(0), "zero address");
        require(!isVoter[voter], "already a voter");
        isVoter[voter] = true;
        _voters.push(voter);
        emit VoterAdded(voter);
    }

    function _open(uint256 id) private view returns (Proposal storage p) {
        require(id < _proposals.length, "no such proposal");
        p = _proposals[id];
        require(p.status == Status.Voting, "not open");
    }

    function _approve(uint256 id, Proposal storage p) private {
        p.status = Status.Approved;
        emit UpgradeApproved(id, p.name, p.height);
    }

    function _reject(uint256 id, Proposal storage p) private {
        p.status = Status.Rejected;
        emit UpgradeRejected(id);
    }
}
