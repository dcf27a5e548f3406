//! `BaseManager` over TCP, as in the guide: one process serves a queue
//! under a name with an authkey; another — in another terminal, or on
//! another machine — connects and consumes.
//!
//! Two terminals:
//! ```sh
//! cargo run -p multiproc-examples --example base_manager -- serve 127.0.0.1:50000
//! cargo run -p multiproc-examples --example base_manager -- consume 127.0.0.1:50000
//! ```
//! With no arguments it plays both parts in one run: the server on a
//! thread, the producer here, the consumer in a child process.
//!
//! Python:
//! ```python
//! from multiprocessing.managers import BaseManager
//! import queue
//! q = queue.Queue()
//! class QueueManager(BaseManager): pass
//! QueueManager.register('get_queue', callable=lambda: q)
//! m = QueueManager(address=('', 50000), authkey=b'abracadabra')
//! m.get_server().serve_forever()
//! # elsewhere:
//! m = QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra')
//! m.connect()
//! queue = m.get_queue()
//! print(queue.get())
//! ```

use std::time::Duration;

use multiproc::manager::{BaseManager, Object, QueueProxy};
use multiproc::prelude::*;

const AUTHKEY: &[u8] = b"abracadabra";

/// Takes items until "stop"; how many it took.
#[process_fn]
fn consume(address: String) -> multiproc::Result<usize> {
    let manager = BaseManager::connect(&address, AUTHKEY)?;
    let queue: QueueProxy<String> = manager.get("get_queue")?;
    let mut taken = 0;
    loop {
        let item = queue.get_timeout(Duration::from_secs(60))?;
        if item == "stop" {
            return Ok(taken);
        }
        println!("consumer got {item:?}");
        taken += 1;
    }
}

fn main() -> multiproc::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, address] if mode == "serve" => {
            println!("serving `get_queue` on {address}; stop with Ctrl-C");
            BaseManager::builder()
                .address(address)
                .authkey(AUTHKEY)
                .register_shared("get_queue", Object::queue(0))
                .serve()
        }
        [mode, address] if mode == "consume" => {
            let manager = BaseManager::connect(address, AUTHKEY)?;
            let queue: QueueProxy<String> = manager.get("get_queue")?;
            println!("{}", queue.get()?);
            Ok(())
        }
        [] => {
            let server = BaseManager::builder()
                .authkey(AUTHKEY)
                .register_shared("get_queue", Object::queue(0))
                .start()?;
            let address = server.address().to_string();
            let mut consumer = Process::builder().start(consume, (address.clone(),))?;
            let manager = BaseManager::connect(&address, AUTHKEY)?;
            let queue: QueueProxy<String> = manager.get("get_queue")?;
            for word in ["hello", "from", "the", "producer", "stop"] {
                queue.put(word.to_string())?;
            }
            let taken = consumer.join()??;
            assert_eq!(taken, 4);
            server.shutdown();
            Ok(())
        }
        _ => Err(multiproc::Error::Usage(
            "usage: base_manager [serve ADDRESS | consume ADDRESS]".into(),
        )),
    }
}
