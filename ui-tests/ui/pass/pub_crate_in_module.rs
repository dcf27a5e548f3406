mod jobs {
    use multiproc::prelude::*;

    #[process_fn]
    pub(crate) fn double(x: u64) -> u64 {
        x * 2
    }
}

use multiproc::ProcessFn;

fn main() {
    assert_eq!(jobs::double(4), 8);
    assert!(jobs::double.name().ends_with("::jobs::double"));
}
