//! wemixvisor-backup
