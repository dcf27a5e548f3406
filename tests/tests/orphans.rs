//! A parent killed with SIGKILL leaves nothing running: its pool workers,
//! executor workers and manager server die with it, for every start method.

use std::time::Duration;

use multiproc::executor::ProcessPoolExecutor;
use multiproc::manager::Manager;
use multiproc::pipe::Pipe;
use multiproc::prelude::*;
use multiproc_tests::{eventually, is_gone, is_zombie, send_signal, METHODS};

#[test]
fn a_sigkilled_parent_leaves_no_worker_or_server_behind() {
    for method in METHODS {
        let (rx, tx) = Pipe::one_way().unwrap();
        let mut parent = Process::builder()
            .fork(move || {
                let pool = Pool::builder().processes(2).start_method(method).build().unwrap();
                let ex = ProcessPoolExecutor::builder()
                    .max_workers(1)
                    .start_method(method)
                    .build()
                    .unwrap();
                let manager = Manager::start_with(method).unwrap();
                let mut pids = pool.worker_pids();
                pids.extend(ex.worker_pids());
                pids.extend(multiproc::active_children().iter().map(|c| c.pid()));
                let _keep = (pool, ex, manager);
                tx.send(&pids).unwrap();
                std::thread::sleep(Duration::from_secs(120));
            })
            .unwrap();
        let pids: Vec<i32> = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        assert!(pids.len() >= 4, "{method:?}: {pids:?}");
        send_signal(parent.pid(), libc::SIGKILL);
        let _ = parent.join();
        for pid in pids {
            assert!(
                eventually(|| is_gone(pid) || is_zombie(pid)),
                "{method:?}: process {pid} outlived its SIGKILLed parent"
            );
        }
    }
}
