package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/secrets"
)

// brokerStartTimeout bounds the CLOB checks of a live broker's start (version, clock, credentials).
const brokerStartTimeout = time.Minute

// brokerFor returns override when set, else the broker of cfg.Mode: live trading on the CLOB in
// mode live; in mode paper, fills against the CLOB's order book when live.paper_book is set, at
// the leader's price otherwise.
//
// onBook, if set, is told each order book the broker reads (the market's condition id is kept
// from it: resolution.Conditions).
func brokerFor(ctx context.Context, override executor.Broker, cfg *config.Config, log *zap.Logger, onBook func(*clob.Book)) (executor.Broker, error) {
	if override != nil {
		return override, nil
	}
	switch {
	case cfg.Mode == config.ModeLive:
		if err := checkRegion(ctx, cfg, log.Named("broker")); err != nil {
			return nil, err
		}
		opts, err := clobOptions(cfg)
		if err != nil {
			return nil, err
		}
		opts.Log, opts.OnBook = log.Named("broker"), onBook
		ctx, cancel := context.WithTimeout(ctx, brokerStartTimeout)
		defer cancel()
		return broker.NewCLOB(ctx, opts)
	case cfg.Live.PaperBook:
		ot, err := order.ParseOrderType(cfg.Live.OrderType)
		if err != nil {
			return nil, fmt.Errorf("live.order_type: %w", err)
		}
		c, err := clob.NewClient(clob.Options{BaseURL: cfg.Live.ClobURL, ChainID: int64(cfg.Chain.ChainID),
			Timeout: cfg.Live.RequestTimeout, Log: log.Named("broker"), OnBook: onBook})
		if err != nil {
			return nil, err
		}
		log.Info("paper trading against the CLOB's order book (live.paper_book)")
		return broker.NewPaperBook(broker.PaperBookOptions{Books: c, Slippage: cfg.Live.Slippage, OrderType: ot,
			FeeRateBps: cfg.Live.PaperFeeRateBps, Log: log.Named("broker")})
	default:
		return broker.Paper{FeeRateBps: cfg.Live.PaperFeeRateBps}, nil
	}
}

// clobOptions maps the live and chain sections of cfg to the live broker's options, with the
// signing key loaded from the files cfg names.
func clobOptions(cfg *config.Config) (broker.CLOBOptions, error) {
	ot, err := order.ParseOrderType(cfg.Live.OrderType)
	if err != nil {
		return broker.CLOBOptions{}, fmt.Errorf("live.order_type: %w", err)
	}
	key, err := secrets.LoadKey(secrets.KeyOptions{
		KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile,
	})
	if err != nil {
		return broker.CLOBOptions{}, fmt.Errorf("live broker: signing key: %w", err)
	}
	return broker.CLOBOptions{
		BaseURL:         cfg.Live.ClobURL,
		ChainID:         int64(cfg.Chain.ChainID),
		CTFExchange:     cfg.Live.CTFExchange,
		NegRiskExchange: cfg.Live.NegRiskExchange,
		ExchangeV3:      cfg.Live.ExchangeV3,
		Key:             key,
		LoadCredentials: secrets.CredentialSource(cfg.Live.CredentialsFile),
		Funder:          cfg.Live.Funder,
		SignatureType:   order.SignatureType(cfg.Live.SignatureType),
		Slippage:        cfg.Live.Slippage,
		OrderType:       ot,
		Timeout:         cfg.Live.RequestTimeout,
	}, nil
}
