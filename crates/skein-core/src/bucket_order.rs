//! Inserting many keys into a hash table in the order of their bucket positions, so the
//! table is swept once instead of hit at random (a cache miss per key otherwise): graph
//! intake inserts a million keys at a time.

/// Bucket mask of a hashbrown table with this capacity (capacity is 7/8 of the buckets, or
/// buckets - 1 below 8). Only a locality hint: a wrong guess costs speed, not correctness.
pub(crate) fn bucket_mask_for(capacity: usize) -> u64 {
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        (capacity / 7 * 8).next_power_of_two()
    };
    (buckets as u64).saturating_sub(1)
}

/// Below this many keys a comparison sort beats the radix passes.
const SMALL: usize = 256;

/// `index` sorted by `keys[i] & mask` (LSD radix sort on (key, index) pairs, 11 bits a pass).
pub(crate) fn sort_by_masked_key(keys: &[u64], mask: u64, index: Vec<u32>) -> Vec<u32> {
    let mask = mask.min(u32::MAX as u64);
    let bits = 64 - mask.leading_zeros();
    let mut pairs: Vec<(u32, u32)> = index
        .iter()
        .map(|&i| ((keys[i as usize] & mask) as u32, i))
        .collect();
    drop(index);
    // Each radix pass clears and scans 2049 counters: for a small graph (an interactive
    // submit of one task) a comparison sort is far cheaper than the passes.
    if pairs.len() <= SMALL {
        pairs.sort_unstable();
        return pairs.into_iter().map(|p| p.1).collect();
    }
    let mut tmp = vec![(0u32, 0u32); pairs.len()];
    let mut shift = 0;
    while shift < bits {
        let mut counts = [0usize; 2049];
        for &(k, _) in &pairs {
            counts[((k >> shift) & 2047) as usize + 1] += 1;
        }
        for b in 1..2049 {
            counts[b] += counts[b - 1];
        }
        for &p in &pairs {
            let b = ((p.0 >> shift) & 2047) as usize;
            tmp[counts[b]] = p;
            counts[b] += 1;
        }
        std::mem::swap(&mut pairs, &mut tmp);
        shift += 11;
    }
    pairs.into_iter().map(|p| p.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_the_masked_key_and_keeps_every_index() {
        let keys: Vec<u64> = (0..5000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let mask = bucket_mask_for(7000);
        let order = sort_by_masked_key(&keys, mask, (0..5000).collect());
        assert!(order
            .windows(2)
            .all(|w| keys[w[0] as usize] & mask <= keys[w[1] as usize] & mask));
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..5000).collect::<Vec<u32>>());
        let small: Vec<u32> = (0..100).collect();
        let order = sort_by_masked_key(&keys, mask, small);
        assert!(order
            .windows(2)
            .all(|w| keys[w[0] as usize] & mask <= keys[w[1] as usize] & mask));
        assert_eq!(order.len(), 100);
        assert_eq!(bucket_mask_for(7), 7);
        assert_eq!(bucket_mask_for(14), 15);
    }
}
