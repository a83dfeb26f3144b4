//! wemixvisor-governance
