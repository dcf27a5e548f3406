//! The user's guide, chapter by chapter: one module per chapter, with no
//! items of its own. The same Markdown is the mdBook in `guide/` of the
//! package; its code blocks run as this crate's doctests. The whole guide
//! is also in Chinese: [`guide::zh`](zh).
//!
//! ---
//!
#![doc = include_str!(concat!(env!("OUT_DIR"), "/guide/en/introduction.md"))]
#![doc = include_str!(concat!(env!("OUT_DIR"), "/guide/en/contents.md"))]

/// A module per chapter, in English here and in Chinese in [`zh`], each
/// documented by its page: one list of chapters for both languages.
macro_rules! chapters {
    ($($module:ident = $file:literal,)*) => {
        $(
            #[doc = include_str!(concat!(env!("OUT_DIR"), "/guide/en/", $file, ".md"))]
            pub mod $module {}
        )*

        /// 用户指南（中文版），与英文版逐章对应。
        ///
        /// ---
        ///
        #[doc = include_str!(concat!(env!("OUT_DIR"), "/guide/zh-CN/introduction.md"))]
        #[doc = include_str!(concat!(env!("OUT_DIR"), "/guide/zh-CN/contents.md"))]
        pub mod zh {
            $(
                #[doc = include_str!(concat!(env!("OUT_DIR"), "/guide/zh-CN/", $file, ".md"))]
                pub mod $module {}
            )*
        }
    };
}

chapters! {
    threads_or_processes = "threads-or-processes",
    process = "process",
    pool = "pool",
    queue = "queue",
    shared = "shared",
    pipe = "pipe",
    manager = "manager",
    sync = "sync",
    thread = "thread",
    futures = "futures",
    mpi = "mpi",
    python_lacks = "python-lacks",
    migration = "migration",
    benchmarks = "benchmarks",
}
