//! Weighted choice among a provider's API keys, steering away from a key the provider throttled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{ApiKey, WeightedKey};

/// How long a key that got a 429 without `Retry-After` sits out.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(10);

/// A provider's keys and, per key, until when it is cooling down after a 429.
#[derive(Debug)]
pub struct KeyPool {
    keys: Vec<WeightedKey>,
    cooling_until: Mutex<Vec<Option<Instant>>>,
}

impl KeyPool {
    pub fn new(keys: Vec<WeightedKey>) -> Self {
        let n = keys.len();
        Self {
            keys,
            cooling_until: Mutex::new(vec![None; n]),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Picks a key by weight among those not cooling down; when all are, the one free soonest.
    /// `roll` is a uniform random number in `[0, 1)`, passed in so the choice is testable.
    pub fn pick(&self, roll: f64) -> Option<(usize, &ApiKey)> {
        if self.keys.is_empty() {
            return None;
        }
        let now = Instant::now();
        let cooling = match self.cooling_until.lock() {
            Ok(guard) => guard.clone(),
            // A panic elsewhere while holding the lock leaves plain data behind: still usable.
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let ready: Vec<usize> = (0..self.keys.len())
            .filter(|i| cooling[*i].is_none_or(|until| until <= now))
            .collect();
        let index = if ready.is_empty() {
            (0..self.keys.len()).min_by_key(|i| cooling[*i])?
        } else {
            let total: u64 = ready
                .iter()
                .map(|i| u64::from(self.keys[*i].weight.get()))
                .sum();
            // Truncation is the point: a position in [0, total).
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let mut point =
                ((roll.clamp(0.0, 1.0) * total as f64) as u64).min(total.saturating_sub(1));
            let mut chosen = ready[ready.len() - 1];
            for i in &ready {
                let w = u64::from(self.keys[*i].weight.get());
                if point < w {
                    chosen = *i;
                    break;
                }
                point -= w;
            }
            chosen
        };
        Some((index, &self.keys[index].key))
    }

    /// Takes a key out of rotation for `for_how_long` (a 429 answered to it).
    pub fn cool_down(&self, index: usize, for_how_long: Duration) {
        let mut guard = match self.cooling_until.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(slot) = guard.get_mut(index) {
            *slot = Some(Instant::now() + for_how_long);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn pool(weights: &[u32]) -> KeyPool {
        KeyPool::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| WeightedKey {
                    key: ApiKey::new(format!("k{i}")),
                    weight: NonZeroU32::new(*w).unwrap(),
                })
                .collect(),
        )
    }

    #[test]
    fn weights_split_the_unit_interval() {
        let p = pool(&[3, 1]);
        // 3/4 of rolls land on the first key, the last quarter on the second.
        assert_eq!(p.pick(0.0).unwrap().0, 0);
        assert_eq!(p.pick(0.74).unwrap().0, 0);
        assert_eq!(p.pick(0.75).unwrap().0, 1);
        assert_eq!(p.pick(0.999).unwrap().0, 1);
        let counts = (0..1000).fold([0; 2], |mut c, i| {
            c[p.pick(f64::from(i) / 1000.0).unwrap().0] += 1;
            c
        });
        assert_eq!(counts, [750, 250]);
    }

    #[test]
    fn a_throttled_key_sits_out_until_its_cooldown_ends() {
        let p = pool(&[1, 1]);
        p.cool_down(0, Duration::from_secs(60));
        for roll in [0.0, 0.3, 0.6, 0.99] {
            assert_eq!(p.pick(roll).unwrap().1.expose(), "k1");
        }
        p.cool_down(0, Duration::ZERO);
        assert_eq!(p.pick(0.0).unwrap().1.expose(), "k0");
    }

    #[test]
    fn when_every_key_is_cooling_the_one_free_soonest_is_used() {
        let p = pool(&[1, 1, 1]);
        p.cool_down(0, Duration::from_secs(30));
        p.cool_down(1, Duration::from_secs(5));
        p.cool_down(2, Duration::from_secs(60));
        assert_eq!(p.pick(0.5).unwrap().0, 1);
    }

    #[test]
    fn no_keys_means_no_credentials() {
        assert!(pool(&[]).pick(0.5).is_none());
    }
}
