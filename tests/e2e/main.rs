//! End-to-end tests: the real `wemixvisor` binary supervising real node
//! processes (devnode, the geth simulator, and anvil), each test in its own
//! temporary home with its own RPC port.

mod alerts;
mod anvil;
mod api;
mod container;
mod governance;
mod heads;
mod lifecycle;
mod loop_faults;
mod migration;
mod pipeline;
mod pipeline_faults;
mod service;
mod triggers;
mod upgrade;
