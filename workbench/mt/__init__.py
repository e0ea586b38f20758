"""Machine translation models: language codes, model families, opening and converting models, devices, the CTranslate2 adapter of the MT-guided projectors."""
