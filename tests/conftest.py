import matplotlib

matplotlib.use("Agg")  # unit tests draw off-screen; the chapters' kernels keep their inline backend
