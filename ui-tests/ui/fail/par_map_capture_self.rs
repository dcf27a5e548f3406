use multiproc::prelude::*;

struct Scaler {
    factor: u64,
}

impl Scaler {
    fn scale(&self, data: Vec<u64>) -> multiproc::Result<Vec<u64>> {
        par_map!(move |x: u64| x * self.factor, data, procs = 2)
    }
}

fn main() {
    let _ = Scaler { factor: 2 }.scale(vec![1, 2]);
}
