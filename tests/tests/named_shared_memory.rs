//! `SharedMemory` by name: create in one process, open in another by the
//! name alone; names taken, missing, bad or untrustworthy are typed errors;
//! the creator (and only the creator) removes the name, and a killed
//! creator's name can be removed by hand. `ShareableList` on top of it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use multiproc::prelude::*;
use multiproc::shared::{ShareableList, SharedMemory};
use multiproc::Error;
use multiproc_tests::{send_signal, METHODS, PATIENCE};

/// A name no other test (nor another run of this one) uses.
fn unique(tag: &str) -> String {
    format!("multiproc-test-{}-{tag}", std::process::id())
}

fn file(name: &str) -> PathBuf {
    PathBuf::from(format!("/dev/shm/{name}"))
}

#[process_fn]
fn open_read_write(name: String, text: String) -> multiproc::Result<Vec<u8>> {
    let shm = SharedMemory::open(&name)?;
    let mut seen = vec![0u8; 6];
    shm.read_at(0, &mut seen)?;
    shm.write_at(100, text.as_bytes())?;
    Ok(seen)
}

#[test]
fn a_child_opens_by_name_and_sees_the_writes() {
    for method in METHODS {
        let name = unique(&format!("open-{method}"));
        let shm = SharedMemory::create(&name, 4096).unwrap();
        shm.write_at(0, b"parent").unwrap();
        let seen = Process::builder()
            .start_method(method)
            .start(open_read_write, (name.clone(), "child".to_string()))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap()
            .unwrap();
        assert_eq!(seen, b"parent", "{method}");
        let mut buf = [0u8; 5];
        shm.read_at(100, &mut buf).unwrap();
        assert_eq!(&buf, b"child", "{method}");
        assert_eq!(shm.name(), Some(name.as_str()));
        assert_eq!(
            format!("{shm:?}"),
            format!("SharedMemory {{ name: {name:?}, size: 4096 }}")
        );
    }
}

#[test]
fn a_taken_name_is_never_reused() {
    let name = unique("taken");
    let first = SharedMemory::create(&name, 64).unwrap();
    first.write_at(0, b"first").unwrap();
    let again = SharedMemory::create(&name, 64);
    assert!(
        matches!(&again, Err(Error::SharedMemoryExists(n)) if *n == name),
        "{again:?}"
    );
    // The refused create touched nothing.
    let mut buf = [0u8; 5];
    first.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"first");

    // A name someone else took with a plain file is refused as well.
    let squatted = unique("squatted");
    std::fs::write(file(&squatted), b"not yours").unwrap();
    let r = SharedMemory::create(&squatted, 64);
    assert!(matches!(r, Err(Error::SharedMemoryExists(_))), "{r:?}");
    assert_eq!(std::fs::read(file(&squatted)).unwrap(), b"not yours");
    std::fs::remove_file(file(&squatted)).unwrap();
}

#[test]
fn a_missing_name_is_not_found() {
    let name = unique("missing");
    let r = SharedMemory::open(&name);
    assert!(matches!(&r, Err(Error::SharedMemoryNotFound(n)) if *n == name), "{r:?}");
    let r = SharedMemory::unlink_name(&name);
    assert!(matches!(r, Err(Error::SharedMemoryNotFound(_))), "{r:?}");
}

#[test]
fn bad_names_and_sizes_are_usage_errors() {
    let long = "x".repeat(256);
    for bad in ["", "a/b", "/lead", ".", "..", "nul\0byte", long.as_str()] {
        let r = SharedMemory::create(bad, 8);
        assert!(matches!(r, Err(Error::Usage(_))), "create {bad:?}: {r:?}");
        let r = SharedMemory::open(bad);
        assert!(matches!(r, Err(Error::Usage(_))), "open {bad:?}: {r:?}");
        let r = SharedMemory::unlink_name(bad);
        assert!(matches!(r, Err(Error::Usage(_))), "unlink_name {bad:?}: {r:?}");
    }
    let r = SharedMemory::create(&unique("zero"), 0);
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
    assert!(!file(&unique("zero")).exists());
    // 255 bytes is a file name still.
    let longest = format!("{}{}", unique("l"), "x".repeat(255 - unique("l").len()));
    drop(SharedMemory::create(&longest, 8).unwrap());
}

fn refused(name: &str) -> String {
    match SharedMemory::open(name) {
        Err(Error::SharedMemoryRefused { name: n, reason }) if n == name => reason,
        other => panic!("{name}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn loose_modes_links_and_empty_files_are_refused() {
    let name = unique("loose");
    let shm = SharedMemory::create(&name, 64).unwrap();
    let mode = std::fs::metadata(file(&name)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    for loose in [0o666, 0o620, 0o602, 0o640, 0o604] {
        std::fs::set_permissions(file(&name), std::fs::Permissions::from_mode(loose)).unwrap();
        let reason = refused(&name);
        assert!(reason.contains("group or others"), "{loose:o}: {reason}");
    }
    std::fs::set_permissions(file(&name), std::fs::Permissions::from_mode(0o600)).unwrap();
    SharedMemory::open(&name).unwrap();

    // A symbolic link under the name, even to a block of ours.
    let link = unique("link");
    std::os::unix::fs::symlink(file(&name), file(&link)).unwrap();
    let reason = refused(&link);
    assert!(reason.contains("symbolic link"), "{reason}");
    std::fs::remove_file(file(&link)).unwrap();

    // An empty file (a create caught before it sized its block).
    let empty = unique("empty");
    std::fs::write(file(&empty), b"").unwrap();
    std::fs::set_permissions(file(&empty), std::fs::Permissions::from_mode(0o600)).unwrap();
    let reason = refused(&empty);
    assert!(reason.contains("empty"), "{reason}");
    std::fs::remove_file(file(&empty)).unwrap();
    drop(shm);
}

#[test]
fn another_users_block_is_refused() {
    let name = unique("other-uid");
    let shm = SharedMemory::create(&name, 64).unwrap();
    // Only root can give a file away: as root (CI) the file is handed to
    // `nobody`, as it would be had `nobody` created it.
    match std::os::unix::fs::chown(file(&name), Some(65534), None) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: chown needs root ({e})");
            return;
        }
        Err(e) => panic!("chown: {e}"),
    }
    let reason = refused(&name);
    assert!(reason.contains("uid 65534"), "{reason}");
    // The creator still removes it: the name is its own to remove.
    drop(shm);
    assert!(!file(&name).exists());
}

#[process_fn]
fn drop_a_handle(shm: SharedMemory) -> Option<String> {
    let name = shm.name().map(str::to_string);
    drop(shm);
    name
}

#[test]
fn the_creator_removes_the_name_and_no_one_else_does() {
    for method in METHODS {
        let name = unique(&format!("drop-{method}"));
        let shm = SharedMemory::create(&name, 64).unwrap();
        // A child given the handle (a copy of the creator's, for Fork)
        // drops it: the name stays.
        let got = Process::builder()
            .start_method(method)
            .start(drop_a_handle, (shm.clone(),))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap();
        assert_eq!(got.as_deref(), Some(name.as_str()), "{method}");
        assert!(file(&name).exists(), "{method}");
        // An opened handle dropped here: the name stays.
        drop(SharedMemory::open(&name).unwrap());
        // A clone of the creator's dropped: the name stays.
        let clone = shm.clone();
        drop(shm);
        assert!(file(&name).exists(), "{method}");
        // The creator's last handle: gone.
        drop(clone);
        assert!(!file(&name).exists(), "{method}");
        assert!(matches!(SharedMemory::open(&name), Err(Error::SharedMemoryNotFound(_))));
    }
}

#[test]
fn unlink_removes_the_name_and_spares_a_newer_block() {
    let name = unique("unlink");
    let old = SharedMemory::create(&name, 64).unwrap();
    SharedMemory::open(&name).unwrap().unlink().unwrap();
    assert!(!file(&name).exists());
    old.write_at(0, b"still mapped").unwrap();
    let r = old.unlink();
    assert!(matches!(r, Err(Error::SharedMemoryNotFound(_))), "{r:?}");
    // The name taken again for another block: the old block's handles
    // neither unlink it explicitly nor on drop.
    let new = SharedMemory::create(&name, 32).unwrap();
    let r = old.unlink();
    assert!(matches!(r, Err(Error::SharedMemoryRefused { .. })), "{r:?}");
    drop(old);
    assert!(file(&name).exists());
    assert_eq!(SharedMemory::open(&name).unwrap().size(), 32);
    drop(new);
    assert!(!file(&name).exists());
    let anonymous = SharedMemory::new(8).unwrap();
    assert!(matches!(anonymous.unlink(), Err(Error::Usage(_))));
}

#[process_fn]
fn write_then_die(name: String) {
    SharedMemory::open(&name).unwrap().write_at(0, b"last words").unwrap();
    send_signal(std::process::id() as i32, libc::SIGKILL);
}

#[test]
fn a_killed_user_leaves_the_name_to_the_creator() {
    let name = unique("user-killed");
    let shm = SharedMemory::create(&name, 64).unwrap();
    let r = Process::builder()
        .start(write_then_die, (name.clone(),))
        .unwrap()
        .join_timeout(PATIENCE);
    assert!(
        matches!(
            r,
            Err(Error::Signaled {
                signal: libc::SIGKILL,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(file(&name).exists());
    let mut buf = [0u8; 10];
    SharedMemory::open(&name).unwrap().read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"last words");
    drop(shm);
    assert!(!file(&name).exists());
}

#[process_fn]
fn create_then_die(name: String) {
    let shm = SharedMemory::create(&name, 64).unwrap();
    shm.write_at(0, b"orphan").unwrap();
    send_signal(std::process::id() as i32, libc::SIGKILL);
}

#[test]
fn a_killed_creator_leaves_the_name_until_unlink_name() {
    let name = unique("creator-killed");
    let r = Process::builder()
        .start(create_then_die, (name.clone(),))
        .unwrap()
        .join_timeout(PATIENCE);
    assert!(
        matches!(
            r,
            Err(Error::Signaled {
                signal: libc::SIGKILL,
                ..
            })
        ),
        "{r:?}"
    );
    // The name outlived its creator, and still opens (same user).
    assert!(file(&name).exists());
    let orphan = SharedMemory::open(&name).unwrap();
    let mut buf = [0u8; 6];
    orphan.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"orphan");
    // Dropping an opened handle removes nothing; unlink_name does.
    drop(orphan);
    assert!(file(&name).exists());
    SharedMemory::unlink_name(&name).unwrap();
    assert!(!file(&name).exists());
    let r = SharedMemory::unlink_name(&name);
    assert!(matches!(r, Err(Error::SharedMemoryNotFound(_))), "{r:?}");
}

#[process_fn]
fn bump_list(name: Option<String>, given: ShareableList<u64>) -> multiproc::Result<Vec<u64>> {
    let list = match name {
        Some(name) => ShareableList::<u64>::open(&name)?,
        None => given,
    };
    for i in 0..list.len() {
        list.set(i, list.get(i)? + 100)?;
    }
    let past = list.get(list.len());
    assert!(
        matches!(past, Err(Error::IndexOutOfRange { index, len }) if index == len && len == list.len()),
        "{past:?}"
    );
    list.to_vec()
}

#[test]
fn a_shareable_list_round_trips_through_a_child() {
    for method in METHODS {
        // By name: the child is given only the name (and a dummy list).
        let name = unique(&format!("list-{method}"));
        let list = ShareableList::create(&name, &[1u64, 2, 3]).unwrap();
        let dummy = ShareableList::new(&[0u64]).unwrap();
        let seen = Process::builder()
            .start_method(method)
            .start(bump_list, (Some(name.clone()), dummy))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap()
            .unwrap();
        assert_eq!(seen, [101, 102, 103], "{method}");
        assert_eq!(list.to_vec().unwrap(), [101, 102, 103], "{method}");
        assert_eq!(
            format!("{list:?}"),
            format!("ShareableList {{ name: {name:?}, items: [101, 102, 103] }}")
        );
        // Anonymous, as an argument.
        let anon = ShareableList::new(&[5u64, 6]).unwrap();
        let seen = Process::builder()
            .start_method(method)
            .start(bump_list, (None, anon.clone()))
            .unwrap()
            .join_timeout(PATIENCE)
            .unwrap()
            .unwrap();
        assert_eq!(seen, [105, 106], "{method}");
        assert_eq!(anon.to_vec().unwrap(), [105, 106], "{method}");
        drop(list);
        assert!(!file(&name).exists(), "{method}");
    }
}

#[test]
fn a_block_that_is_not_such_a_list_is_refused() {
    let name = unique("list-check");
    let list = ShareableList::create(&name, &[1u32, 2, 3]).unwrap();
    let r = ShareableList::<u64>::open(&name);
    assert!(
        matches!(&r, Err(Error::SharedMemoryRefused { reason, .. }) if reason.contains("4 bytes")),
        "{r:?}"
    );
    // A forged length that runs past the block.
    list.shm().write_at(16, &u64::MAX.to_le_bytes()).unwrap();
    let r = ShareableList::<u32>::open(&name);
    assert!(matches!(r, Err(Error::SharedMemoryRefused { .. })), "{r:?}");
    list.shm().write_at(16, &4u64.to_le_bytes()).unwrap(); // 4 items in room for 3
    let r = ShareableList::<u32>::open(&name);
    assert!(matches!(r, Err(Error::SharedMemoryRefused { .. })), "{r:?}");
    // The handle made at creation keeps its own length, whatever the header says.
    assert_eq!(list.len(), 3);
    assert!(matches!(
        list.set(3, 0),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    ));

    // Raw shared memory is not a list, nor is a tiny block.
    let raw = unique("list-raw");
    let _raw = SharedMemory::create(&raw, 4096).unwrap();
    let r = ShareableList::<u8>::open(&raw);
    assert!(
        matches!(&r, Err(Error::SharedMemoryRefused { reason, .. }) if reason.contains("not a ShareableList")),
        "{r:?}"
    );
    let tiny = unique("list-tiny");
    let _tiny = SharedMemory::create(&tiny, 3).unwrap();
    let r = ShareableList::<u8>::open(&tiny);
    assert!(matches!(r, Err(Error::SharedMemoryRefused { .. })), "{r:?}");

    let r = ShareableList::<()>::new(&[(), ()]);
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
    let empty = ShareableList::<u16>::new(&[]).unwrap();
    assert!(empty.is_empty() && empty.to_vec().unwrap().is_empty());
}
