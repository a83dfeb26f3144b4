//! wemixvisor-config
