//! A capturing closure's captures travel once per worker per call, not
//! once per chunk: counted by the library, alone in this test binary so
//! that no other test's captures add to the count.

use multiproc::prelude::*;

#[test]
fn captures_travel_once_per_worker_per_call() -> multiproc::Result<()> {
    let pool = Pool::builder().processes(2).start_method(StartMethod::Spawn).build()?;
    let table: Vec<u64> = (0..65_536).collect(); // 512 KiB
    let (sets, bytes) = multiproc::__private::captures_sent();
    let got = par_map!(
        move |i: u64| table[i as usize] * 2,
        0..5_000u64,
        pool = &pool,
        chunksize = 5
    )?;
    assert_eq!(got, (0..5_000u64).map(|i| i * 2).collect::<Vec<_>>());
    let (sets_after, bytes_after) = multiproc::__private::captures_sent();
    // 1 000 chunks, 2 workers: at most one set each (one worker may have
    // run everything).
    let sent = sets_after - sets;
    assert!((1..=2).contains(&sent), "{sent} sets sent");
    let per_set = (bytes_after - bytes) / sent;
    assert!((524_288..524_288 + 1_024).contains(&per_set), "{per_set} bytes a set");
    Ok(())
}
