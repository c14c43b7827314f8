//! skein's scheduling core: a deterministic state machine with no IO and no clock.
//! Events go in through methods on [`Scheduler`] (a client submitted a graph, wants or
//! releases keys; a worker joined, left, finished or failed a task; a timer ticked), and
//! any time they need is passed in as an argument (`now`, in seconds). Instructions come
//! out, batched per worker and per client, when the caller pulls them with
//! [`Scheduler::take_instructions`]. The same events in the same order always give the
//! same instructions, so the core can be tested, benchmarked, simulated and replayed
//! without a network; the shell around it owns every socket and timer.
#![forbid(unsafe_code)]

mod bookkeeping;
mod bucket_order;
mod client;
mod config;
mod counters;
mod error;
mod graph;
mod groups;
mod ids;
mod instructions;
mod membership;
mod order;
mod placement;
mod prefix;
mod prefix_states;
mod queue;
mod replication;
mod reports;
mod room;
mod scheduler;
pub mod sim;
mod spec;
mod state;
mod stealing;
mod story;
mod suspects;
mod task;
mod task_stream;
mod transitions;
mod validate;
mod worker;

#[cfg(test)]
mod tests;

pub use config::Config;
pub use counters::SchedulerStats;
pub use error::CoreError;
pub use ids::{ClientId, TaskId, WorkerId};
pub use instructions::{ClientBatch, Compute, Instructions, WorkerBatch};
pub use prefix_states::PrefixProgress;
pub use replication::{ReplicaCopy, ReplicationPlan};
pub use scheduler::Scheduler;
pub use spec::{DeathCause, Failure, Removal, TaskSpec, WorkerSpec, MAX_KEY_BYTES};
pub use state::{StateCounts, TaskState};
pub use story::{Stimulus, TransitionRecord};
pub use task_stream::{RunRecord, MAX_PENDING_RUNS};
