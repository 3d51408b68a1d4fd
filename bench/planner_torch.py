#!/usr/bin/env python3
"""The planning call of bench_planner written in PyTorch, for comparison (optional: needs
Debian's python3-torch, which the suite itself does not use).

One DMD-MPC control step at the DeMoRL authors' settings on HalfCheetah's sizes, computed the way
a PyTorch implementation batches it: every ensemble member in one torch.baddbmm per layer, the
candidates' particles as rows, a SAC actor for the prior sequences and a SAC Q1 as terminal
value. Random weights, as in bench_planner. Single-threaded, float32, no autograd. It counts the
same GEMM flops as bench_planner and prints the time per call and GFLOP/s.

    python3 bench/planner_torch.py [--members 7|5]
"""
import argparse
import time

import torch

O, A = 17, 6                       # HalfCheetah
N, M, P, H, I = 100, 5, 4, 3, 5    # samples, prior sequences, particles, horizon, iterations
KAPPA, G_MEAN, G_VAR = 1.0, 1.0, 0.9
HID, LAYERS = 200, 4
D = 1 + O                          # reward and the change of the observation


def ensemble(E):
    sizes = [O + A] + [HID] * LAYERS + [2 * D]
    ws = [torch.randn(E, i, o) / i ** 0.5 for i, o in zip(sizes, sizes[1:])]
    bs = [torch.zeros(E, 1, o) for o in sizes[1:]]
    return ws, bs, torch.full((D,), 0.5), torch.full((D,), -10.0)


def mlp(sizes):
    return [(torch.randn(i, o) / i ** 0.5, torch.zeros(o)) for i, o in zip(sizes, sizes[1:])]


def run_mlp(layers, x):
    for k, (w, b) in enumerate(layers):
        x = torch.addmm(b, x, w)
        if k + 1 < len(layers):
            x = torch.relu(x)
    return x


def model_step(ens, mu_in, sd_in, obs, act):
    """obs (E, n, O), act (E, n, A) -> next obs, reward: one member per leading index."""
    ws, bs, hi, lo = ens
    x = (torch.cat([obs, act], -1) - mu_in) / sd_in
    for k, (w, b) in enumerate(zip(ws, bs)):
        x = torch.baddbmm(b, x, w)
        if k + 1 < len(ws):
            x = x * torch.sigmoid(x)   # Swish
    mean, lv = x[..., :D], x[..., D:]
    lv = hi - torch.nn.functional.softplus(hi - lv)
    lv = lo + torch.nn.functional.softplus(lv - lo)
    y = mean + torch.exp(0.5 * lv) * torch.randn_like(mean)
    return obs + y[..., 1:], y[..., 0]


def control_step(ens, E, actor, q1, mu_in, sd_in, plan_mean, plan_var, obs):
    plan_mean = torch.cat([plan_mean[1:], torch.zeros(1, A)])   # shift
    # the prior's M sequences, each row through one random member per step
    o = obs.expand(M, O)
    prior = []
    for h in range(H):
        a = torch.tanh(run_mlp(actor, o)[:, :A])
        prior.append(a)
        if h + 1 < H:
            nxt, _ = model_step(ens, mu_in, sd_in, o.expand(E, M, O), a.expand(E, M, A))
            o = nxt[torch.randint(E, (M,)), torch.arange(M)]
    prior = torch.stack(prior, 1)                                 # (M, H, A)
    for _ in range(I):
        sd = torch.sqrt(torch.minimum(plan_var, ((1 - plan_mean.abs()) / 2) ** 2))
        z = torch.randn(N, H, A).clamp_(-2, 2)
        cand = torch.cat([(plan_mean + sd * z).clamp_(-1, 1), prior])   # (C, H, A)
        rows = cand.repeat_interleave(P, 0)                           # (C P, H, A)
        n = rows.shape[0]
        o = obs.expand(E, n, O)
        ret = torch.zeros(E, n)
        for h in range(H - 1):
            o, r = model_step(ens, mu_in, sd_in, o, rows[:, h].expand(E, n, A))
            ret += r
        qin = torch.cat([o, rows[:, H - 1].expand(E, n, A)], -1).reshape(E * n, O + A)
        ret += run_mlp(q1, qin).reshape(E, n)
        score = ret.mean(0).reshape(-1, P).mean(1)                    # (C)
        w = torch.softmax(KAPPA * score, 0)
        new_mean = (w[:, None, None] * cand).sum(0)
        new_var = (w[:, None, None] * (cand - new_mean) ** 2).sum(0)
        plan_mean = (1 - G_MEAN) * plan_mean + G_MEAN * new_mean
        plan_var = (1 - G_VAR) * plan_var + G_VAR * new_var
    j = torch.multinomial(w, 1)                                       # act by a drawn sequence
    return cand[j][0], plan_var


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=7, help="members simulated (7: all, 5: elites)")
    ap.add_argument("--calls", type=int, default=30)
    E = ap.parse_args().members
    torch.set_num_threads(1)
    torch.manual_seed(1)
    ens = ensemble(E)
    actor = mlp([O, 256, 256, 2 * A])
    q1 = mlp([O + A, 256, 256, 1])
    mu_in, sd_in = torch.zeros(O + A), torch.ones(O + A)
    obs = torch.rand(1, O) * 2 - 1
    plan_mean, plan_var = torch.zeros(H, A), torch.full((H, A), 0.25)

    model_f = 2 * ((O + A) * HID + (LAYERS - 1) * HID * HID + HID * 2 * D)
    q_f = 2 * ((O + A) * 256 + 256 * 256 + 256)
    a_f = 2 * (O * 256 + 256 * 256 + 256 * 2 * A)
    rows = E * (N + M) * P
    flops = I * ((H - 1) * rows * model_f + rows * q_f) + H * M * a_f + (H - 1) * M * model_f

    with torch.inference_mode():
        for _ in range(3):
            control_step(ens, E, actor, q1, mu_in, sd_in, plan_mean, plan_var, obs)
        times = []
        for _ in range(ap.parse_args().calls):
            t0 = time.perf_counter()
            control_step(ens, E, actor, q1, mu_in, sd_in, plan_mean, plan_var, obs)
            times.append(time.perf_counter() - t0)
    t = min(times)
    print(f"PyTorch {torch.__version__}, 1 thread: {E} members, {rows} rows per iteration, "
          f"{flops * 1e-6:.1f} MFLOP of GEMMs (as bench_planner counts them)")
    print(f"  control step  {t * 1e3:8.2f} ms (best of {len(times)}), {flops / t * 1e-9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
