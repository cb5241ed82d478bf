# Shared by scripts/demo and scripts/test: create .venv with Python 3.11 and install the project.
PYTHON_BIN=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON_BIN" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
case "${PIP_EXTRAS:-}" in
  *llm-server*)
    # llama-cpp-python compiles llama.cpp on install, by default for this CPU (-march=native). Where
    # the CPU lists AMX tile instructions but the VM doesn't let a process use them (seen on this
    # project's CI machines), that build dies with a general protection fault in libggml-cpu on the
    # first chat request. So it is built once, portably (AVX2/FMA/F16C: any x86-64 of the last
    # decade), into a wheel kept outside the checkout, and only that wheel is installed.
    LLAMA_WHEELS=${COACHHUB_WHEEL_DIR:-$HOME/.cache/coachhub/wheels}
    if ! ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
      mkdir -p "$LLAMA_WHEELS"
      echo "Building llama-cpp-python once (portable CPU build, about 7 minutes) into $LLAMA_WHEELS"
      CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
        .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps -w "$LLAMA_WHEELS" "llama-cpp-python>=0.3.2"
    fi
    export PIP_FIND_LINKS="$LLAMA_WHEELS"
    export PIP_ONLY_BINARY="llama-cpp-python"
    ;;
esac
.venv/bin/python -m pip install --quiet -e ".${PIP_EXTRAS:-}"
