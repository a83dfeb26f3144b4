//! wemixvisor-node
