"""The CI edge: the only code that reads a CI's environment and writes its channels.

`environment.detect` turns GitHub Actions', GitLab CI's or any CI's environment into one frozen
`CiContext`; the rest of comwit sees plain values. The channels it writes: the job summary
(`summary`), annotations on manifest lines (`workflow`), step outputs (`outputs`) and one
living pull-request comment (`comment`, over `github` and `gitlab`). Only `github` and
`gitlab` import httpx, and only when a comment is asked for. This file imports nothing:
`main()` registers CI tokens with the redactor (`tokens`) on every run, at no start-up cost.
"""
