def build(inputs):
    return inputs['raw'
