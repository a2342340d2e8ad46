"""One process of a two-process sweep on localhost (jax.distributed on CPU)."""

import sys

import jax

if __name__ == "__main__":
    port, process_id, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=process_id)
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import sweep_job

    assert jax.process_count() == 2 and jax.process_index() == process_id
    sweep_job.run(path)
