// Every violation of one impl block is reported at once, each at its
// tokens.

pub struct Log(Vec<String>);

#[multiproc::managed]
impl Log {
    pub async fn push(&mut self, line: &str) {
        self.0.push(line.to_string());
    }

    pub unsafe fn merge<T>(&mut self, other: Log, _t: T) -> impl Clone {
        self.0.extend(other.0);
    }

    pub fn into_lines(self) -> Vec<String> {
        self.0
    }
}

fn main() {}
