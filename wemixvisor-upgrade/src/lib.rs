//! wemixvisor-upgrade
