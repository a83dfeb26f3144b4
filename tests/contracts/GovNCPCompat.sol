// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title GovNCPCompat
/// @notice A test stand-in for Wemix's GovNCP system contract
/// (0x0000000000000000000000000000000000001003): the same events, views,
/// proposal rules and proposal ids, so wemixvisor's tracker can be tested
/// against a real node (anvil). It is installed with `anvil_setCode` and so
/// needs no constructor state: the first NCPs come from `initNCPs`, which,
/// like a genesis allocation, emits no event.
///
/// Rules (as in GovNCP): one proposal is open at a time; ids start at 0 and
/// advance when a proposal is finalised or canceled; a vote finalises the
/// proposal once accepts*2 > NCP count (accepted) or rejects*2 >= NCP count
/// (rejected); the proposer may cancel before anyone voted, anyone (NCP) may
/// cancel after the voting period; opening a proposal while an expired one
/// is still open cancels the expired one first.
contract GovNCPCompat {
    enum Decision { None, Accept, Reject }
    enum ProposalState { None, Voting, Accepted, Rejected, Canceled }
    enum ProposalType { None, NCPAdd, NCPRemoval, EmergencyMode, ReleaseEmergencyMode }

    struct Proposal {
        ProposalState state;
        uint256 startTime;
        uint256 endTime;
        address proposer;
        address targetNCP;
        ProposalType proposalType;
        address[] voters;
        uint256 accepts;
        uint256 rejects;
        mapping(address => Decision) decisions;
    }

    uint256 public constant VOTING_PERIOD = 1 weeks;

    address[] private _ncps;
    mapping(address => uint256) private _ncpSlot; // index + 1; 0 = not an NCP

    uint256 public currentProposalID;
    mapping(uint256 => Proposal) private _proposals;
    mapping(address => bool) private _locked;

    bool public emergencyMode;

    event NewProposal(uint256 indexed id, uint256 proposalType, address ncp, address proposer, uint256 time, uint256 endtime);
    event Vote(uint256 indexed proposalID, address voter, bool accept);
    event ProposalFinalized(uint256 indexed proposalID, bool accepted);
    event ProposalCanceled(uint256 indexed proposalID);

    event NCPAdded(address indexed ncp);
    event NCPRemoved(address indexed ncp);
    event NCPChanged(address indexed oldNCP, address indexed newNCP);

    modifier onlyNCP() {
        require(_ncpSlot[msg.sender] != 0, "msg.sender is not ncp");
        _;
    }

    // ---- set-up (test only) ----

    /// Seeds the NCP set of an empty contract, without events (a genesis allocation).
    function initNCPs(address[] calldata ncps) external {
        require(_ncps.length == 0, "already initialised");
        for (uint256 i = 0; i < ncps.length; i++) {
            _add(ncps[i]);
        }
    }

    /// Adds an NCP directly, with NCPAdded (an administrative shortcut for tests).
    function addNCP(address ncp) external onlyNCP {
        require(_ncpSlot[ncp] == 0, "ncp exists");
        _add(ncp);
        emit NCPAdded(ncp);
    }

    // ---- views ----

    function isNCP(address ncp) external view returns (bool) {
        return _ncpSlot[ncp] != 0;
    }

    function ncpList() external view returns (address[] memory) {
        return _ncps;
    }

    function ncpCount() external view returns (uint256) {
        return _ncps.length;
    }

    // ---- proposals ----

    function newProposalToAddNCP(address newNCP) external onlyNCP {
        require(_ncpSlot[newNCP] == 0, "ncp exists");
        _newProposal(newNCP, ProposalType.NCPAdd);
    }

    function newProposalToRemoveNCP(address ncp) external onlyNCP {
        require(_ncpSlot[ncp] != 0, "invalid ncp");
        _newProposal(ncp, ProposalType.NCPRemoval);
        if (msg.sender == ncp) {
            _finalize(_voting(currentProposalID), true);
        }
    }

    function newProposalEmergencyMode(bool toMode) external onlyNCP {
        require(emergencyMode != toMode, "already in the mode");
        _newProposal(address(0), toMode ? ProposalType.EmergencyMode : ProposalType.ReleaseEmergencyMode);
    }

    function changeNCP(address ncp) external onlyNCP {
        require(_ncpSlot[ncp] == 0, "ncp already exists");
        require(!_locked[msg.sender], "belong in an on-going proposal");
        _remove(msg.sender);
        _add(ncp);
        emit NCPChanged(msg.sender, ncp);
    }

    function vote(uint256 proposalID, bool accept) external onlyNCP {
        Proposal storage p = _voting(proposalID);
        require(block.timestamp <= p.endTime, "already closed vote");
        require(p.decisions[msg.sender] == Decision.None, "already voted");
        if (accept) {
            p.decisions[msg.sender] = Decision.Accept;
            p.accepts++;
        } else {
            p.decisions[msg.sender] = Decision.Reject;
            p.rejects++;
        }
        p.voters.push(msg.sender);
        emit Vote(proposalID, msg.sender, accept);
        uint256 threshold = _ncps.length;
        if (p.accepts * 2 > threshold || p.rejects * 2 >= threshold) {
            _finalize(p, p.accepts > p.rejects);
        }
    }

    function cancelProposal(uint256 proposalID) external onlyNCP {
        Proposal storage p = _voting(proposalID);
        if (block.timestamp <= p.endTime) {
            require(p.proposer == msg.sender, "non-proposer cannot cancel before timeout");
            require(p.voters.length == 0, "cannot cancel after vote");
        }
        _cancel(p);
    }

    // ---- internals ----

    function _add(address ncp) private {
        _ncps.push(ncp);
        _ncpSlot[ncp] = _ncps.length;
    }

    function _remove(address ncp) private {
        uint256 slot = _ncpSlot[ncp];
        uint256 last = _ncps.length;
        if (slot != last) {
            address moved = _ncps[last - 1];
            _ncps[slot - 1] = moved;
            _ncpSlot[moved] = slot;
        }
        _ncps.pop();
        _ncpSlot[ncp] = 0;
    }

    function _newProposal(address target, ProposalType kind) private {
        Proposal storage p = _proposals[currentProposalID];
        if (p.state != ProposalState.None) {
            if (p.endTime >= block.timestamp) {
                revert("previous vote is in progress");
            }
            _cancel(p);
            p = _proposals[currentProposalID];
        }
        p.proposer = msg.sender;
        p.startTime = block.timestamp;
        p.endTime = block.timestamp + VOTING_PERIOD;
        p.targetNCP = target;
        p.proposalType = kind;
        p.state = ProposalState.Voting;
        _locked[msg.sender] = true;
        _locked[target] = true;
        emit NewProposal(currentProposalID, uint256(kind), target, msg.sender, block.timestamp, p.endTime);
    }

    function _voting(uint256 id) private view returns (Proposal storage p) {
        require(id == currentProposalID, "invalid proposal id");
        p = _proposals[id];
        require(p.state == ProposalState.Voting, "not in voting");
    }

    function _finalize(Proposal storage p, bool accepted) private {
        if (accepted) {
            if (p.proposalType == ProposalType.NCPAdd) {
                _add(p.targetNCP);
                emit NCPAdded(p.targetNCP);
            } else if (p.proposalType == ProposalType.NCPRemoval) {
                _remove(p.targetNCP);
                emit NCPRemoved(p.targetNCP);
            } else if (p.proposalType == ProposalType.EmergencyMode) {
                emergencyMode = true;
            } else if (p.proposalType == ProposalType.ReleaseEmergencyMode) {
                emergencyMode = false;
            }
            p.state = ProposalState.Accepted;
        } else {
            p.state = ProposalState.Rejected;
        }
        _locked[p.proposer] = false;
        _locked[p.targetNCP] = false;
        emit ProposalFinalized(currentProposalID, accepted);
        currentProposalID++;
    }

    function _cancel(Proposal storage p) private {
        p.state = ProposalState.Canceled;
        _locked[p.proposer] = false;
        _locked[p.targetNCP] = false;
        emit ProposalCanceled(currentProposalID);
        currentProposalID++;
    }
}
