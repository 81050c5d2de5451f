;; tiedet's SIMD heap passes for the TiedBottleneck (simd-plumbing.ts): the inference path's fused passes, and the
;; training path's exact block permutations.
;; They run on the TF.js wasm backend's own memory (imported), on tensors it allocated; every pointer is a byte
;; address in that memory, every count a number of 4-float groups unless said otherwise.
;; Built by `npm run build:wasm` (tools/wasm/build.ts) into wasm-binaries.ts, once per memory kind
;; (MEMORY_LIMITS: shared for the threaded backend, plain otherwise); a test checks the committed bytes match.
(module
  (import "env" "memory" (memory MEMORY_LIMITS))

  ;; Entry → split inputs. src [P, 4·G] (channel-last, sequential); for group g (channels 4g … 4g+3) the table
  ;; holds (base, stride) in bytes: pixel p of the group goes to base + p·stride. Applies y = max(0, x·sc + sh).
  (func (export "split_blocks")
    (param $src i32) (param $P i32) (param $G i32) (param $sc i32) (param $sh i32) (param $tab i32)
    (local $p i32) (local $g i32) (local $q i32) (local $t i32) (local $c i32) (local $base i32)
    (local $zero v128)
    (local.set $zero (v128.const f32x4 0 0 0 0))
    (local.set $q (local.get $src))
    (block $done
      (br_if $done (i32.eqz (local.get $P)))
      (loop $pixels
        (local.set $g (i32.const 0))
        (local.set $t (local.get $tab))
        (local.set $c (i32.const 0))
        (loop $groups
          (v128.store
            (i32.add (i32.load (local.get $t)) (i32.mul (local.get $p) (i32.load offset=4 (local.get $t))))
            (f32x4.max
              (f32x4.add
                (f32x4.mul (v128.load (local.get $q)) (v128.load (i32.add (local.get $sc) (local.get $c))))
                (v128.load (i32.add (local.get $sh) (local.get $c))))
              (local.get $zero)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 8)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $G))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $P))))))

  ;; Split outputs → channels: the inverse walk (read base + p·stride, write dst sequentially) with
  ;; y = max(0, v·sc + sh); when $sum ≠ 0 also Σ over the $s splits of each pixel's row ($ws4 groups per split),
  ;; written to sum [P, 4·ws4], summed in split order.
  (func (export "gather_blocks")
    (param $dst i32) (param $P i32) (param $G i32) (param $sc i32) (param $sh i32) (param $tab i32)
    (param $sum i32) (param $s i32) (param $ws4 i32)
    (local $p i32) (local $g i32) (local $d i32) (local $t i32) (local $c i32) (local $row i32)
    (local $k i32) (local $i i32) (local $a i32) (local $acc v128) (local $zero v128) (local $split i32)
    (local.set $zero (v128.const f32x4 0 0 0 0))
    (local.set $d (local.get $dst))
    (local.set $a (local.get $sum))
    (local.set $split (i32.shl (local.get $ws4) (i32.const 4)))
    (block $done
      (br_if $done (i32.eqz (local.get $P)))
      (loop $pixels
        (local.set $row (local.get $d))
        (local.set $g (i32.const 0))
        (local.set $t (local.get $tab))
        (local.set $c (i32.const 0))
        (loop $groups
          (v128.store (local.get $d)
            (f32x4.max
              (f32x4.add
                (f32x4.mul
                  (v128.load (i32.add (i32.load (local.get $t)) (i32.mul (local.get $p) (i32.load offset=4 (local.get $t)))))
                  (v128.load (i32.add (local.get $sc) (local.get $c))))
                (v128.load (i32.add (local.get $sh) (local.get $c))))
              (local.get $zero)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 8)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $G))))
        (if (local.get $sum)
          (then
            (local.set $k (i32.const 0))
            (loop $sumgroups
              (local.set $acc (v128.load (local.get $row)))
              (local.set $i (i32.const 1))
              (block $nosplits
                (br_if $nosplits (i32.ge_u (local.get $i) (local.get $s)))
                (loop $splits
                  (local.set $acc
                    (f32x4.add (local.get $acc)
                      (v128.load (i32.add (local.get $row) (i32.mul (local.get $i) (local.get $split))))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $splits (i32.lt_u (local.get $i) (local.get $s)))))
              (v128.store (local.get $a) (local.get $acc))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $row (i32.add (local.get $row) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $sumgroups (i32.lt_u (local.get $k) (local.get $ws4))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $P))))))

  ;; The training path's exact permutations (no BN, no ReLU: gradients have both signs). The same table as
  ;; split_blocks: group g (channels 4g … 4g+3) of pixel p lives at base + p·stride in the block-major parts.
  ;; move_blocks: src [P, 4·G] (sequential) → parts; collect_blocks: parts → dst [P, 4·G] (sequential).
  (func (export "move_blocks")
    (param $src i32) (param $P i32) (param $G i32) (param $tab i32)
    (local $p i32) (local $g i32) (local $q i32) (local $t i32)
    (local.set $q (local.get $src))
    (block $done
      (br_if $done (i32.eqz (local.get $P)))
      (loop $pixels
        (local.set $g (i32.const 0))
        (local.set $t (local.get $tab))
        (loop $groups
          (v128.store
            (i32.add (i32.load (local.get $t)) (i32.mul (local.get $p) (i32.load offset=4 (local.get $t))))
            (v128.load (local.get $q)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 8)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $G))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $P))))))

  (func (export "collect_blocks")
    (param $dst i32) (param $P i32) (param $G i32) (param $tab i32)
    (local $p i32) (local $g i32) (local $d i32) (local $t i32)
    (local.set $d (local.get $dst))
    (block $done
      (br_if $done (i32.eqz (local.get $P)))
      (loop $pixels
        (local.set $g (i32.const 0))
        (local.set $t (local.get $tab))
        (loop $groups
          (v128.store (local.get $d)
            (v128.load (i32.add (i32.load (local.get $t)) (i32.mul (local.get $p) (i32.load offset=4 (local.get $t))))))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 8)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $G))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $P))))))

  ;; out[p, i·ws + k] = y[p, i·ws + k] + m[p, k] for the $s splits ($ws4 groups each).
  (func (export "add_every_split")
    (param $y i32) (param $m i32) (param $out i32) (param $P i32) (param $s i32) (param $ws4 i32)
    (local $p i32) (local $i i32) (local $k i32) (local $mm i32)
    (block $done
      (br_if $done (i32.eqz (local.get $P)))
      (loop $pixels
        (local.set $i (i32.const 0))
        (loop $splits
          (local.set $mm (local.get $m))
          (local.set $k (i32.const 0))
          (loop $groups
            (v128.store (local.get $out) (f32x4.add (v128.load (local.get $y)) (v128.load (local.get $mm))))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $mm (i32.add (local.get $mm) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $groups (i32.lt_u (local.get $k) (local.get $ws4))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $splits (i32.lt_u (local.get $i) (local.get $s))))
        (local.set $m (local.get $mm))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $P))))))
)
