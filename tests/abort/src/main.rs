//! Built with `panic = "abort"`: each line it prints is one way of running a
//! task that panics, and the error it came back as.

use multiproc::executor::ProcessPoolExecutor;
use multiproc::prelude::*;

#[process_fn]
fn explode(x: u64) -> u64 {
    if x == 3 {
        panic!("item {x} exploded");
    }
    x
}

fn main() {
    for method in [StartMethod::Fork, StartMethod::ForkServer, StartMethod::Spawn] {
        let joined = Process::builder()
            .start_method(method)
            .start(explode, (3,))
            .and_then(|mut p| p.join());
        println!("process {method:?}: {joined:?}");
        let pool = Pool::builder().processes(1).start_method(method).build().expect("pool");
        println!("pool apply {method:?}: {:?}", pool.apply(explode, (3,)));
        // The worker that aborted was replaced: the pool still works.
        println!("pool after {method:?}: {:?}", pool.apply(explode, (4,)));
    }
    let executor = ProcessPoolExecutor::new(1).expect("executor");
    let future = executor.submit(explode, (3,)).expect("submit");
    println!("executor: {:?}", future.result());
}
