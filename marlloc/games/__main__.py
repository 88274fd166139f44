"""``python -m marlloc.games``: how closely the solvers reach every closed-form equilibrium (a table).

Columns: relative NashConv (÷ payoff range) of the closed form and of the solver's answer, the
solver's relative error max|x − x*|/max|x*| (loads for congestion games) and its iterations.
The run takes about half a minute, most of it 200,000 iterations of fictitious play on Shapley's game.
"""

from __future__ import annotations

from marlloc.solvers.equilibrium import equilibrium_report


def main() -> None:
    rows = equilibrium_report()
    print(f"{'game':<32} {'solver':<18} {'iters':>7} {'conv':>5} {'NashConv/range closed form':>27} "
          f"{'NashConv/range solver':>22} {'rel. error':>11}")
    for r in rows:
        print(f"{r['game']:<32} {r['solver']:<18} {r['iterations']:>7} {r['converged']!s:>5} "
              f"{r['closed_form_rel_nash_conv']:>27.1e} {r['solver_rel_nash_conv']:>22.1e} {r['rel_error']:>11.1e}")


if __name__ == "__main__":
    main()
