//! A few threads working through a list (the layers of a pull, the blobs of
//! a push): each takes the next item until none is left or one has failed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Run `work` on every index below `count`, on up to `jobs` threads (at
/// least one). After the first failure no new item is started; that failure
/// is returned once the running items have finished.
pub(crate) fn for_each<E: Send>(
    count: usize,
    jobs: usize,
    work: impl Fn(usize) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let workers = jobs.clamp(1, count.max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count {
                    return;
                }
                if let Err(e) = work(i) {
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    match first_error.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_and_the_first_failure_stops_the_rest() {
        let done = Mutex::new(Vec::new());
        for_each(50, 4, |i| {
            done.lock().expect("not poisoned").push(i);
            Ok::<(), ()>(())
        })
        .expect("no failure");
        let mut done = done.into_inner().expect("not poisoned");
        done.sort_unstable();
        assert_eq!(done, (0..50).collect::<Vec<_>>());

        let started = AtomicUsize::new(0);
        let err = for_each(50, 1, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            if i == 3 {
                Err(i)
            } else {
                Ok(())
            }
        });
        assert_eq!(err, Err(3));
        assert_eq!(started.load(Ordering::SeqCst), 4);
        assert_eq!(for_each(0, 6, |_| Err(())), Ok(()));
    }
}
