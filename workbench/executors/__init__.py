"""Executors: cut a stage's input into shards, run them here or on Ray, stage the results, commit one version."""

from workbench.executors.options import EXECUTORS, ExecutorOptions, WorkerContext, worker_context
from workbench.executors.run import ShardedRun, run_sharded, run_stage
from workbench.executors.shards import Shard, ShardError, ShardWorker
from workbench.executors.staging import Staging

__all__ = ["EXECUTORS", "ExecutorOptions", "Shard", "ShardError", "ShardWorker", "ShardedRun", "Staging",
           "WorkerContext", "run_sharded", "run_stage", "worker_context"]
